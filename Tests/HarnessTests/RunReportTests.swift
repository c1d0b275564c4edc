import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Support
import XCTest

/// `bench report --run`: one run on its own, with the command that reproduces it.
final class RunReportTests: XCTestCase {
    func testARunOnItsOwnIsReportedWithItsCommand() throws {
        let results = try makeTemporaryFolder(self), reports = try makeTemporaryFolder(self)
        let settings = RunSettings(modelName: "fake", modelSHA256: "feed", benchVersion: "test", limit: 3, seed: 1234)
        let runner = SuiteRunner(model: FakeLanguageModel(), store: ResultsStore(root: results), settings: settings, progressStyle: .silent)
        let summaries = try runner.run(try ["gsm8k", "arc_easy"].map { try BenchmarkRegistry.load($0, from: repositoryTasks) },
                                       policies: [.baseline()])
        let report = try RunReport.load(resultsDir: results, model: "fake", run: "baseline",
                                        taskOrder: BenchmarkRegistry.names(in: .all))
        XCTAssertEqual(report.summaries.map(\.task), ["arc_easy", "gsm8k"], "suite order")
        XCTAssertEqual(report.command, "bench run --model fake --tasks arc_easy,gsm8k --config baseline --limit 3 --seed 1234")
        let markdown = report.markdown(command: report.command)
        let arc = summaries.first { $0.task == "arc_easy" }!
        let score = NumberText.fixed(arc.metrics["acc,none"]!.value * 100, 1)
        XCTAssertTrue(markdown.contains("| arc_easy | acc,none | \(score) |"), markdown)
        XCTAssertTrue(markdown.contains("| 3 | first 3 |"), markdown)
        let files = try report.write(reportsDir: reports, command: report.command)
        XCTAssertEqual(files.map(\.lastPathComponent), ["baseline.md", "baseline.csv"])
        XCTAssertTrue(try String(contentsOf: files[1], encoding: .utf8).hasPrefix("task,metric,score,"))
        XCTAssertThrowsError(try RunReport.load(resultsDir: results, model: "fake", run: "routed", taskOrder: []))
    }
}
