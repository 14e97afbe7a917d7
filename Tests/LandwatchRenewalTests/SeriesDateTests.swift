import LandwatchRenewal
import XCTest

/// Dates of a series and approval dates as bureaus write them.
final class SeriesDateTests: XCTestCase {
    func testFormatsBureausWrite() {
        for text in ["2011-01-07", "2011/01/07", "2011.1.7", "20110107", "2011年1月7日", "2011-01-07T00:00:00Z"] {
            XCTAssertEqual(SeriesDate(text)?.text, "2011-01-07", text)
        }
        for text in ["2013-02-30", "2013-13-01", "next spring", "", "07/01/2011"] {
            XCTAssertNil(SeriesDate(text), text)
        }
    }

    func testMonthsBetweenDates() throws {
        let last = try XCTUnwrap(SeriesDate("2013-07-07"))
        XCTAssertEqual(try XCTUnwrap(SeriesDate("2011-01-07")).months(until: last), 30, accuracy: 0.05)
        XCTAssertEqual(try XCTUnwrap(SeriesDate("2013-01-07")).months(until: last), 6, accuracy: 0.05)
        XCTAssertEqual(last.adding(months: -30).text, "2011-01-07")
        XCTAssertEqual(try XCTUnwrap(SeriesDate("2012-03-31")).adding(months: -1).text, "2012-02-29")
    }

    func testVacancyRunOfAPixel() {
        let bare: (Int) -> Bool = { $0 == 6 }
        // Bare on every clear date, one cloudy date inside.
        XCTAssertEqual(VacancyRun.of([6, .nan, 6, 6], unbuilt: bare),
                       VacancyRun(first: 0, last: 3, observations: 3, missing: 1, turnedBare: false))
        // Turned bare after forest: a stalled site.
        XCTAssertEqual(VacancyRun.of([2, 2, 6, 6], unbuilt: bare),
                       VacancyRun(first: 2, last: 3, observations: 2, missing: 0, turnedBare: true))
        // Bare once, then forest again: no run.
        XCTAssertNil(VacancyRun.of([2, 6, 2, 2], unbuilt: bare))
        // Bare on the last date only: a run of one observation (below min_observations in the stage).
        XCTAssertEqual(VacancyRun.of([2, 2, 2, 6], unbuilt: bare)?.observations, 1)
    }
}
