import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

/// The runner on the real default model (run scripts/setup.sh first): an interrupted and resumed
/// run must give bit-identical records to an uninterrupted one.
final class RealModelRunTests: XCTestCase {
    func testInterruptedRunResumesToTheSameRecordsOnTheRealModel() throws {
        let model = try loadDefaultModel()
        let benchmark = try BenchmarkRegistry.load("arc_easy", from: repositoryTasks)
        let settings = RunSettings(modelName: "smollm2-135m-instruct", modelSHA256: "test", benchVersion: "test",
                                   limit: 4, seed: 1234, batchSize: 2)

        let whole = try makeTemporaryFolder(self)
        let uninterrupted = try SuiteRunner(model: model, store: ResultsStore(root: whole), settings: settings,
                                            progressStyle: .silent).run(benchmark, policy: .baseline())

        let resumed = try makeTemporaryFolder(self)
        let stopAfterFirstBatch = StopAfter(polls: 1)
        let first = SuiteRunner(model: model, store: ResultsStore(root: resumed), settings: settings,
                                shouldStop: { stopAfterFirstBatch.shouldStop() }, progressStyle: .silent)
        XCTAssertThrowsRunError(.interrupted(task: "arc_easy", done: 2, total: 4), try first.run(benchmark, policy: .baseline()))
        let second = try SuiteRunner(model: model, store: ResultsStore(root: resumed), settings: settings,
                                     progressStyle: .silent).run(benchmark, policy: .baseline())

        XCTAssertEqual(second.withoutTiming, uninterrupted.withoutTiming)
        let a = try ResultsStore(root: whole).loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: "arc_easy")
        let b = try ResultsStore(root: resumed).loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: "arc_easy")
        XCTAssertEqual(a.map(\.withoutTiming), b.map(\.withoutTiming))
        XCTAssertEqual(a.count, 4)
        XCTAssertEqual(a[0].path.blocks, Array(0..<30))
        XCTAssertEqual(a[0].blockApplications, 30 * (a[0].choiceLogLikelihoods?.count ?? 0))
        XCTAssertTrue(a.allSatisfy { $0.choiceLogLikelihoods!.allSatisfy { $0 < 0 && $0.isFinite } })
    }
}

/// Says "stop" from the `polls + 1`-th question on.
private final class StopAfter: @unchecked Sendable {
    private let lock = NSLock()
    private var asked = 0
    private let polls: Int
    init(polls: Int) { self.polls = polls }
    func shouldStop() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        asked += 1
        return asked > polls
    }
}
