import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

/// Every benchmark of both suites runs end to end on the real default model with a small limit:
/// data loads and verifies, requests go through the engine, responses are scored and aggregated.
/// Generation is capped at 24 new tokens here to keep CI fast (GSM8K/AIME/SQuAD answers are cut,
/// which is fine for an end-to-end check, not for scores).
final class AllBenchmarksRealModelTests: XCTestCase {
    func testEveryBenchmarkOfBothSuitesRunsEndToEnd() throws {
        let model = try loadDefaultModel()
        let tasks = repositoryTasks
        let options = BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2, maxGenerationTokens: 24)
        let names = BenchmarkRegistry.names(in: .all)
        XCTAssertEqual(names.count, 15)
        let settings = RunSettings(modelName: "smollm2-135m-instruct", modelSHA256: "test", benchVersion: "test",
                                   limit: 1, seed: 1234, chatTemplate: true)
        let results = try makeTemporaryFolder(self)
        let runner = SuiteRunner(model: model, store: ResultsStore(root: results), settings: settings, progressStyle: .silent)
        for name in names {
            let benchmark = try BenchmarkRegistry.load(name, from: tasks, options: options)
            let summary = try runner.run(benchmark, policy: .baseline())
            let records = try ResultsStore(root: results).loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: name)
            // Groups take the limit per subtask, as lm-eval does.
            let expected = benchmark.indices(limit: 1).count
            XCTAssertEqual(records.count, expected, name)
            XCTAssertGreaterThan(expected, 0, name)
            XCTAssertTrue(records.allSatisfy { $0.blockApplications >= 30 && $0.forwardPasses >= 1 }, name)
            XCTAssertTrue(records.allSatisfy { !$0.metrics.isEmpty && $0.metrics.values.allSatisfy(\.isFinite) }, name)
            let primary = try XCTUnwrap(summary.metrics[summary.primaryMetric], "\(name): headline metric \(summary.primaryMetric)")
            XCTAssertTrue(primary.value.isFinite, name)
            if name == "gpqa_diamond" {
                // Records never hold question text: the target is a letter like "(B)".
                XCTAssertTrue(records.allSatisfy { $0.target.count <= 3 }, "GPQA targets must be letters only")
            }
        }
    }
}
