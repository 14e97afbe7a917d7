import Foundation

/// The schema changes after v1, as SQL for both stores (``Registry`` runs them in GRDB migrations, ``PostgresRegistry``
/// in its own), each keeping every row an older registry holds.
enum Schema {
    static let v1Columns = "id, geometry_wkt, min_lon, min_lat, max_lon, max_lat, rules, area_m2, first_seen, last_seen, first_scene, last_scene, status, dismissed_by, dismissed_reason, dismissed_at"

    /// The history of a v1 violation as far as v1 knew it: detected on its first scene; its status when it is no longer
    /// new, with who set it and why.
    static let v1History = [
        """
        INSERT INTO violation_event (violation_id, scene_id, date, event, status, area_m2, recorded_at)
        SELECT id, first_scene, first_seen, 'detected', 'new', area_m2, CURRENT_TIMESTAMP FROM violation
        """,
        """
        INSERT INTO violation_event (violation_id, scene_id, date, event, status, changed_by, reason, recorded_at)
        SELECT id, CASE WHEN status = 'dismissed' THEN NULL ELSE last_scene END, last_seen,
               CASE WHEN status = 'dismissed' THEN 'status' WHEN status = 'resolved' THEN 'restored' ELSE 'detected' END,
               status, dismissed_by, COALESCE(dismissed_reason, 'recorded by a registry of schema v1'), COALESCE(dismissed_at, CURRENT_TIMESTAMP)
        FROM violation WHERE status <> 'new'
        """,
    ]

    static var v2SQLite: [String] {
        [
            """
            CREATE TABLE violation_v2 (id TEXT PRIMARY KEY NOT NULL, geometry_wkt TEXT NOT NULL, min_lon DOUBLE NOT NULL,
              min_lat DOUBLE NOT NULL, max_lon DOUBLE NOT NULL, max_lat DOUBLE NOT NULL, rules TEXT NOT NULL, area_m2 DOUBLE NOT NULL,
              first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, first_scene TEXT NOT NULL, last_scene TEXT NOT NULL,
              status TEXT NOT NULL CHECK (status IN (\(ViolationStatus.sqlList))), dismissed_by TEXT, dismissed_reason TEXT,
              dismissed_at DATETIME, before_class INTEGER, after_class INTEGER, score INTEGER, resolved_date TEXT, resolved_scene TEXT)
            """,
            "INSERT INTO violation_v2 (\(v1Columns)) SELECT \(v1Columns) FROM violation",
            "DROP TABLE violation",
            "ALTER TABLE violation_v2 RENAME TO violation",
            "CREATE INDEX violation_box ON violation (min_lon, max_lon, min_lat, max_lat)",
            """
            CREATE TABLE violation_event (id INTEGER PRIMARY KEY AUTOINCREMENT, violation_id TEXT NOT NULL REFERENCES violation(id),
              scene_id TEXT, date TEXT NOT NULL, event TEXT NOT NULL CHECK (event IN (\(ViolationEvent.Kind.sqlList))),
              status TEXT NOT NULL CHECK (status IN (\(ViolationStatus.sqlList))), area_m2 DOUBLE, score INTEGER, changed_by TEXT, reason TEXT,
              reason_code TEXT, recorded_at DATETIME NOT NULL)
            """,
            "CREATE INDEX violation_event_violation ON violation_event (violation_id)",
            "CREATE INDEX violation_event_scene ON violation_event (scene_id)",
            "ALTER TABLE scene ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1",
        ] + v1History
    }

    static var v2Postgres: [String] {
        [
            "ALTER TABLE violation ADD COLUMN before_class integer, ADD COLUMN after_class integer, ADD COLUMN score integer, "
                + "ADD COLUMN resolved_date text, ADD COLUMN resolved_scene text",
            "ALTER TABLE violation ADD CONSTRAINT violation_status CHECK (status IN (\(ViolationStatus.sqlList)))",
            """
            CREATE TABLE violation_event (id bigserial PRIMARY KEY, violation_id text NOT NULL REFERENCES violation(id), scene_id text,
              date text NOT NULL, event text NOT NULL CHECK (event IN (\(ViolationEvent.Kind.sqlList))),
              status text NOT NULL CHECK (status IN (\(ViolationStatus.sqlList))), area_m2 double precision, score integer, changed_by text,
              reason text, reason_code text, recorded_at timestamptz NOT NULL)
            """,
            "CREATE INDEX violation_event_violation ON violation_event (violation_id)",
            "CREATE INDEX violation_event_scene ON violation_event (scene_id)",
            "ALTER TABLE scene ADD COLUMN attempts integer NOT NULL DEFAULT 1",
        ] + v1History
    }

    /// v3: the plan attributes of the latest detection (zone, areas per plan layer, dates, approvals), as JSON
    /// (``ViolationAttributes``): what the `wpzf` export profile writes.
    static let v3SQLite = ["ALTER TABLE violation ADD COLUMN attributes TEXT"]
    static let v3Postgres = ["ALTER TABLE violation ADD COLUMN attributes text"]
}

extension Schema {
    /// v4 (issue 24): each zone's metrics per processed scene (green coverage, development intensity, red-line
    /// occupation, heat island), written by nightly from the run's metrics products, read by `landwatch report --db`.
    static let v4SQLite = [
        """
        CREATE TABLE zone_metric (scene_id TEXT NOT NULL REFERENCES scene(id), date TEXT NOT NULL, zone TEXT NOT NULL, name TEXT,
          green_coverage DOUBLE, intensity DOUBLE, eco_occupation DOUBLE, suhi_c DOUBLE, suhi_proxy DOUBLE, PRIMARY KEY (scene_id, zone))
        """,
        "CREATE INDEX zone_metric_date ON zone_metric (date)",
    ]
    static let v4Postgres = [
        """
        CREATE TABLE zone_metric (scene_id text NOT NULL REFERENCES scene(id), date text NOT NULL, zone text NOT NULL, name text,
          green_coverage double precision, intensity double precision, eco_occupation double precision, suhi_c double precision,
          suhi_proxy double precision, PRIMARY KEY (scene_id, zone))
        """,
        "CREATE INDEX zone_metric_date ON zone_metric (date)",
    ]
}

extension Schema {
    /// v5 (issue 25): the STAC Item a scene came from (`nightly --stac`), nil for inbox deliveries.
    static let v5SQLite = ["ALTER TABLE scene ADD COLUMN stac_item TEXT"]
    static let v5Postgres = ["ALTER TABLE scene ADD COLUMN stac_item text"]
}
