import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

/// The runner over real benchmark data (ARC-Easy, GSM8K from `tasks/`) and a fake model.
final class SuiteRunnerTests: XCTestCase {
    private func settings(limit: Int? = 6, batch: Int = 4, force: Bool = false) -> RunSettings {
        RunSettings(modelName: "fake", modelSHA256: "feed", benchVersion: "test", limit: limit, seed: 1234,
                    force: force, batchSize: batch)
    }

    private func runner(_ model: FakeLanguageModel, root: URL, settings: RunSettings,
                        stop: @escaping @Sendable () -> Bool = { false }) -> SuiteRunner {
        SuiteRunner(model: model, store: ResultsStore(root: root), settings: settings, shouldStop: stop,
                    progressStyle: .silent)
    }

    private func arcEasy() throws -> LoadedBenchmark {
        try BenchmarkRegistry.load("arc_easy", from: repositoryTasks)
    }

    private func files(_ root: URL, run: String, task: String) throws -> (records: [ExampleRecord], summary: TaskSummary, recordBytes: Data) {
        let store = ResultsStore(root: root)
        return (try store.loadRecords(model: "fake", run: run, task: task),
                try store.loadSummary(model: "fake", run: run, task: task),
                try Data(contentsOf: store.recordsFile(model: "fake", run: run, task: task)))
    }

    func testRunWritesOneRecordPerDocumentAndASummary() throws {
        let root = try makeTemporaryFolder(self)
        let benchmark = try arcEasy()
        let model = FakeLanguageModel()
        let summary = try runner(model, root: root, settings: settings()).run(benchmark, policy: .baseline())
        XCTAssertEqual(model.calls, 2, "6 documents in batches of 4")
        let (records, stored, _) = try files(root, run: "baseline", task: "arc_easy")
        XCTAssertEqual(stored, summary)
        XCTAssertEqual(records.map(\.index), Array(0..<6))
        XCTAssertEqual(records.map(\.id), benchmark.documents.prefix(6).map(\.id))
        XCTAssertTrue(summary.complete)
        XCTAssertEqual(summary.n, 6)
        XCTAssertEqual(summary.primaryMetric, "acc,none")
        XCTAssertEqual(summary.configuration.dataSHA256, benchmark.dataDigest)
        XCTAssertEqual(summary.configuration.limit, 6)
        XCTAssertEqual(summary.configuration.policy, .full)
        XCTAssertNotNil(summary.metrics["acc_norm,none"])

        let first = records[0]
        let choices = try XCTUnwrap(first.choiceLogLikelihoods)
        XCTAssertEqual(first.chosenIndex, choices.firstIndex(of: choices.max()!))
        XCTAssertEqual(first.metrics["acc,none"], first.prediction == first.target ? 1 : 0, "ARC: label of the argmax vs answer key")
        XCTAssertEqual(first.blockApplications, 4 * choices.count, "one 4-block forward pass per choice")
        XCTAssertEqual(first.forwardPasses, choices.count)
        XCTAssertEqual(first.path.blocks, [0, 1, 2, 3])
        XCTAssertNil(first.generation)
        XCTAssertEqual(summary.layers.meanBlockApplications,
                       Double(records.map(\.blockApplications).reduce(0, +)) / 6, accuracy: 1e-12)
    }

    func testResumeAfterAKillGivesTheRecordsAndSummaryOfAnUninterruptedRun() throws {
        let benchmark = try arcEasy()
        let whole = try makeTemporaryFolder(self)
        _ = try runner(FakeLanguageModel(), root: whole, settings: settings(limit: 10, batch: 3)).run(benchmark, policy: .baseline())

        let resumed = try makeTemporaryFolder(self)
        let dying = FakeLanguageModel()
        dying.failAfterCalls = 2           // killed during the third batch
        XCTAssertThrowsError(try runner(dying, root: resumed, settings: settings(limit: 10, batch: 3)).run(benchmark, policy: .baseline()))
        XCTAssertEqual(try ResultsStore(root: resumed).loadRecords(model: "fake", run: "baseline", task: "arc_easy").count, 6)
        // A killed run leaves the summary of its last finished batch, for `compare` and `report`.
        let left = try ResultsStore(root: resumed).loadSummary(model: "fake", run: "baseline", task: "arc_easy")
        XCTAssertEqual(left.n, 6)
        XCTAssertFalse(left.complete)
        // And a torn line, as SIGKILL during a write would leave.
        let recordsFile = ResultsStore(root: resumed).recordsFile(model: "fake", run: "baseline", task: "arc_easy")
        let handle = try FileHandle(forWritingTo: recordsFile)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"block_app".utf8))
        try handle.close()

        let second = FakeLanguageModel()
        _ = try runner(second, root: resumed, settings: settings(limit: 10, batch: 3)).run(benchmark, policy: .baseline())
        XCTAssertEqual(second.calls, 2, "only the 4 unfinished documents are run (batches of 3)")

        let a = try files(whole, run: "baseline", task: "arc_easy"), b = try files(resumed, run: "baseline", task: "arc_easy")
        XCTAssertEqual(a.records.map(\.withoutTiming), b.records.map(\.withoutTiming))
        XCTAssertEqual(a.summary.withoutTiming, b.summary.withoutTiming)
        XCTAssertEqual(a.records.count, 10)
    }

    func testStopRequestWritesAPartialSummaryAndResumes() throws {
        let root = try makeTemporaryFolder(self)
        let benchmark = try arcEasy()
        // The runner polls before each batch: let the first batch through, then stop (as SIGINT would).
        let polls = PollCounter()
        let r = runner(FakeLanguageModel(), root: root, settings: settings(limit: 8, batch: 2), stop: { polls.next() > 1 })
        XCTAssertThrowsRunError(.interrupted(task: "arc_easy", done: 2, total: 8), try r.run(benchmark, policy: .baseline()))
        let partial = try ResultsStore(root: root).loadSummary(model: "fake", run: "baseline", task: "arc_easy")
        XCTAssertFalse(partial.complete)
        XCTAssertEqual(partial.n, 2)

        let done = try runner(FakeLanguageModel(), root: root, settings: settings(limit: 8, batch: 2)).run(benchmark, policy: .baseline())
        XCTAssertTrue(done.complete)
        XCTAssertEqual(done.n, 8)
    }

    func testChangedModelIsRefusedAndForceStartsOver() throws {
        let root = try makeTemporaryFolder(self)
        let benchmark = try arcEasy()
        _ = try runner(FakeLanguageModel(), root: root, settings: settings(limit: 2)).run(benchmark, policy: .baseline())
        var other = settings(limit: 2)
        other.modelSHA256 = "beef"
        let error = runError { try runner(FakeLanguageModel(), root: root, settings: other).run(benchmark, policy: .baseline()) }
        guard case let .configurationChanged(_, changes)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(changes, [ConfigurationChange(key: "model_sha256", old: "'feed'", new: "'beef'")])
        other.force = true
        let model = FakeLanguageModel()
        let summary = try runner(model, root: root, settings: other).run(benchmark, policy: .baseline())
        XCTAssertEqual(summary.configuration.modelSHA256, "beef")
        XCTAssertEqual(model.calls, 1)
    }

    func testPoliciesRunOneAfterTheOtherAndRecordTheirPaths() throws {
        let root = try makeTemporaryFolder(self)
        let benchmark = try arcEasy()
        let summaries = try runner(FakeLanguageModel(), root: root, settings: settings(limit: 3))
            .run([benchmark], policies: [.baseline(), .fixed(LayerPath([0, 1, 1, 3]), name: "skip2")])
        XCTAssertEqual(summaries.map(\.run), ["baseline", "skip2"])
        let fixed = try files(root, run: "skip2", task: "arc_easy")
        XCTAssertEqual(fixed.summary.configuration.policy, .fixed)
        XCTAssertEqual(fixed.summary.configuration.fixedPath, [0, 1, 1, 3])
        XCTAssertEqual(fixed.records[0].path.skipped, 1)
        XCTAssertEqual(fixed.records[0].path.repeated, 1)
        XCTAssertEqual(fixed.summary.layers.perLayer[1], LayerUsage(skip: 0, execute: 0, repeat: 1))
        // The two runs compare.
        let c = try Comparison.load(resultsDir: root, model: "fake", runA: "baseline", runB: "skip2", resamples: 200)
        XCTAssertEqual(c.tasks.first?.scores.layersSaved, 0)
    }

    func testGenerativeTaskStoresTheGenerationAndExtractedAnswer() throws {
        let root = try makeTemporaryFolder(self)
        let benchmark = try BenchmarkRegistry.load("gsm8k", from: repositoryTasks)
        let model = FakeLanguageModel()
        model.generationText = " She sold 48 + 24 = 72 clips. #### 72"
        let summary = try runner(model, root: root, settings: settings(limit: 2)).run(benchmark, policy: .baseline())
        XCTAssertEqual(summary.configuration.fewshot, 5)
        XCTAssertEqual(summary.primaryMetric, benchmark.info.metrics.first)
        let records = try files(root, run: "baseline", task: "gsm8k").records
        XCTAssertEqual(records.count, 2)
        // The raw generation is kept (in `generation` when the benchmark's prediction differs from it).
        XCTAssertEqual(records[0].generation ?? records[0].prediction, " She sold 48 + 24 = 72 clips. #### 72")
        XCTAssertEqual(records[0].metrics.keys.sorted(), ["exact_match,flexible-extract", "exact_match,strict-match"])
        XCTAssertEqual(records[0].forwardPasses, 10)
        XCTAssertEqual(records[0].blockApplications, 40)
        XCTAssertNil(records[0].choiceLogLikelihoods)
        XCTAssertEqual(model.generatedRequests, 2)
    }

    func testStoredChatTemplateFlagIsPerTaskNotRunWide() throws {
        var chat = settings()
        chat.chatTemplate = true
        let options = BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2)
        let run = runner(FakeLanguageModel(), root: try makeTemporaryFolder(self), settings: chat)
        let arc = try BenchmarkRegistry.load("arc_easy", from: repositoryTasks, options: options)
        let dart = try BenchmarkRegistry.load("dart_1", from: repositoryTasks, options: options)
        XCTAssertFalse(run.configuration(for: arc, policy: .baseline()).chatTemplate, "lm-eval's ARC prompt is plain text")
        XCTAssertTrue(run.configuration(for: dart, policy: .baseline()).chatTemplate, "the paper's DART prompt is a chat")
        let plain = runner(FakeLanguageModel(), root: try makeTemporaryFolder(self), settings: settings())
        XCTAssertFalse(plain.configuration(for: dart, policy: .baseline()).chatTemplate)
    }

    func testALongBatchSaysItIsStillRunningAndStopsSayingSoAfterwards() throws {
        let model = FakeLanguageModel()
        model.secondsPerCall = 0.5
        let lines = LineCollector()
        let runner = SuiteRunner(model: model, store: ResultsStore(root: try makeTemporaryFolder(self)),
                                 settings: settings(limit: 2, batch: 2), progressStyle: .lines,
                                 progressOutput: { lines.append($0) }, heartbeatSeconds: 0.1)
        _ = try runner.run(try arcEasy(), policy: .baseline())
        let beats = lines.all.filter { $0.contains("still running") }
        XCTAssertGreaterThanOrEqual(beats.count, 2, lines.all.joined())
        XCTAssertTrue(beats[0].hasPrefix("baseline/arc_easy: 0/2 done; documents 1–2 still running ("), beats[0])
        let count = lines.all.count
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(lines.all.count, count, "no heartbeat after the batch finished")
    }

    func testALongGenerationsHeartbeatCountsTheTokensGeneratedSoFar() throws {
        let model = FakeLanguageModel()
        model.secondsPerCall = 0.5
        let lines = LineCollector()
        let runner = SuiteRunner(model: model, store: ResultsStore(root: try makeTemporaryFolder(self)),
                                 settings: settings(limit: 4, batch: 2), progressStyle: .lines,
                                 progressOutput: { lines.append($0) }, heartbeatSeconds: 0.1)
        _ = try runner.run(try BenchmarkRegistry.load("gsm8k", from: repositoryTasks), policy: .baseline())
        let beats = lines.all.filter { $0.contains("still running") }
        // The fake counts 9 tokens per document when its call starts: 18 per batch of two,
        // counted from the batch's start.
        XCTAssertTrue(beats.contains { $0.hasPrefix("baseline/gsm8k: 0/4 done; documents 1–2 still running (")
                          && $0.hasSuffix(" s, 18 tokens generated)\n") }, lines.all.joined())
        XCTAssertTrue(beats.contains { $0.hasPrefix("baseline/gsm8k: 2/4 done; documents 3–4 still running (")
                          && $0.hasSuffix(" s, 18 tokens generated)\n") }, lines.all.joined())
    }

}

/// Counts how often the runner asked whether to stop.
private final class PollCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func next() -> Int {
        lock.lock()
        defer { lock.unlock() }
        count += 1
        return count
    }
}

final class InterruptFlagTests: XCTestCase {
    func testSIGINTRaisesTheFlagInsteadOfKillingTheProcess() throws {
        let flag = InterruptFlag()
        flag.installSignalHandler(message: nil)
        XCTAssertFalse(flag.isRaised)
        // libdispatch installs its handler asynchronously after `resume()`; a signal sent in that
        // window meets SIG_IGN and is dropped. So send again, slowly, until the flag is raised (a
        // second delivery after raising would end the process, hence the long pause between tries).
        let deadline = Date().addingTimeInterval(10)
        while !flag.isRaised && Date() < deadline {
            kill(getpid(), SIGINT)
            let wait = Date().addingTimeInterval(1.5)
            while !flag.isRaised && Date() < wait { usleep(10_000) }
        }
        XCTAssertTrue(flag.isRaised)
    }
}

/// Lines written from any thread.
private final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) {
        lock.lock()
        lines.append(line)
        lock.unlock()
    }
    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return lines
    }
}
