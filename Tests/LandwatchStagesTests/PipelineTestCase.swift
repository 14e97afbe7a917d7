import LandwatchTestSupport

/// The stage tests run pipeline text through the shared test case (LandwatchTestSupport), with the shipped stages.
typealias PipelineTestCase = LandwatchTestSupport.PipelineTestCase
