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

    /// A run stopped in the middle of an answer (here: a journal holding the first tokens of GSM8K
    /// document 0's answer, as a killed run leaves it) resumes that answer from those tokens and
    /// writes the record an uninterrupted run writes; the journal file is gone afterwards.
    func testAnswerResumedFromItsJournalGivesTheUninterruptedRecord() throws {
        let model = try loadDefaultModel()
        let benchmark = try BenchmarkRegistry.load("gsm8k", from: repositoryTasks)
        let settings = RunSettings(modelName: "smollm2-135m-instruct", modelSHA256: "test", benchVersion: "test",
                                   limit: 1, seed: 1234, batchSize: 1)
        let whole = try makeTemporaryFolder(self)
        _ = try SuiteRunner(model: model, store: ResultsStore(root: whole), settings: settings,
                            progressStyle: .silent).run(benchmark, policy: .baseline())

        // The answer's tokens, from a journal that records after every token.
        let request = try XCTUnwrap(try benchmark.request(at: 0).generationRequest)
        final class KeepAll: GenerationJournal {
            var last: [Int32] = []
            var recordInterval: Int { 1 }
            func generatedSoFar(prompt: [Int32]) -> [Int32]? { nil }
            func record(prompt: [Int32], generated: [Int32]) { last = generated }
            func finished(prompt: [Int32]) {}
        }
        let spy = KeepAll()
        model.generationJournal = spy
        _ = try model.generate([request], policy: .full, batchSize: 1)
        model.generationJournal = nil
        XCTAssertGreaterThan(spy.last.count, 20)

        let resumed = try makeTemporaryFolder(self)
        let store = ResultsStore(root: resumed)
        try store.prepare()
        try FileOperations.createFolders(store.runFolder(model: "smollm2-135m-instruct", run: "baseline"))
        let url = store.generationJournalFile(model: "smollm2-135m-instruct", run: "baseline", task: "gsm8k")
        let left = try GenerationJournalFile(url: url)
        left.record(prompt: model.encode(request.context), generated: Array(spy.last.prefix(17)))
        XCTAssertNil(left.writeFailure)
        XCTAssertEqual(try GenerationJournalFile(url: url).inFlight.tokens, 17, "the journal reads back")

        _ = try SuiteRunner(model: model, store: store, settings: settings, progressStyle: .silent)
            .run(benchmark, policy: .baseline())
        let a = try ResultsStore(root: whole).loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: "gsm8k")
        let b = try store.loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: "gsm8k")
        XCTAssertEqual(a.map(\.withoutTiming), b.map(\.withoutTiming))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "a finished answer leaves no journal")
        XCTAssertEqual(try store.tasks(model: "smollm2-135m-instruct", run: "baseline"), ["gsm8k"])
    }

    /// A journal that is not one is refused with its file named.
    func testMalformedJournalIsRefusedWithItsFileNamed() throws {
        let url = try makeTemporaryFolder(self).appendingPathComponent("gsm8k.generating.json")
        try Data("{\"format_version\": 1, \"sequences\": 3}".utf8).write(to: url)
        XCTAssertThrowsError(try GenerationJournalFile(url: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
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
