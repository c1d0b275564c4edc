import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import Routing
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// End-to-end tests of `bench run`, `bench compare`, `bench report` and the refusals of bad input,
/// through the real executable (a child process) on the real default model, with small limits.
///
/// Every file goes to temporary folders (`--results`, `--reports`, `--readme-file`), and children
/// run in a temporary working directory, so the repository's `results/`, `reports/` and README
/// are never touched. The default model must be installed (`scripts/setup.sh`): without it the
/// tests that need it fail, they are not skipped.
///
/// Two runs are shared between tests and made on first use: a `--config both` run of
/// arc_easy and gsm8k (3 documents each; compared and reported by later tests) and the
/// uninterrupted reference runs the kill-and-resume tests compare against.
final class CLIEndToEndTests: XCTestCase {
    static let model = CLIBench.modelName
    /// Documents of the kill-and-resume task: three batches of 8 (the runner's batch size), so a
    /// signal after the first batch always lands mid-run.
    static let killLimit = 24

    // MARK: Shared fixtures

    private struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var sharedRoot: URL?
    nonisolated(unsafe) private static var routers: Result<URL, Error>?
    nonisolated(unsafe) private static var suite: Result<(results: URL, run: CLIResult), Error>?
    nonisolated(unsafe) private static var reference: Result<URL, Error>?

    override class func tearDown() {
        lock.lock()
        if let sharedRoot { try? FileManager.default.removeItem(at: sharedRoot) }
        sharedRoot = nil
        routers = nil
        suite = nil
        reference = nil
        lock.unlock()
        super.tearDown()
    }

    /// A folder for the shared fixtures, removed after the last test of the class.
    private static func sharedFolder(_ name: String) throws -> URL {
        if sharedRoot == nil {
            let root = URL(fileURLWithPath: NSTemporaryDirectory())
                .appendingPathComponent("bench-cli-e2e-\(UUID().uuidString)", isDirectory: true)
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            sharedRoot = root
        }
        let url = sharedRoot!.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A RouterSet with random (untrained) weights for the model's 30 blocks of width 576: it
    /// skips and repeats blocks, which is what the routed tests want to see.
    private func routerFile() throws -> URL {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.routers == nil {
            Self.routers = Result {
                let url = try Self.sharedFolder("routers").appendingPathComponent("random.routers")
                let set = try RouterSet(hyperParameters: RouterHyperParameters(layerCount: 30, width: 576), seed: 7,
                                        provenance: RouterProvenance())
                try set.write(to: url.path)
                return url
            }
        }
        return try Self.routers!.get()
    }

    /// The arguments of the shared suite run (both configurations, a scored and a generative task).
    private func suiteArguments(results: URL, router: URL) -> [String] {
        ["run", "--tasks", "arc_easy,gsm8k", "--limit", "3", "--fewshot", "1", "--max-gen-tokens", "8",
         "--config", "both", "--router", router.path, "--results", results.path]
    }

    /// The shared suite run: its results folder and what the command printed.
    private func suiteRun() throws -> (results: URL, run: CLIResult) {
        let router = try routerFile()
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.suite == nil {
            Self.suite = Result {
                try CLIBench.requireModel()
                let folder = try Self.sharedFolder("suite")
                let results = folder.appendingPathComponent("results")
                let run = try CLIProcess.run(suiteArguments(results: results, router: router), in: folder)
                guard run.status == 0, !run.signalled else {
                    XCTFail("the shared suite run failed: \(run.transcript)")
                    throw FixtureError(description: "the shared suite run failed: \(run.transcript)")
                }
                return (results, run)
            }
        }
        return try Self.suite!.get()
    }

    /// The command the kill tests interrupt (and rerun), for one configuration: four documents per
    /// batch, so a signal finds the run with batches still to go (the default 16 would leave two).
    /// The uninterrupted reference runs keep the default, so every comparison with them also
    /// checks that records do not depend on `--batch-size`.
    private func killArguments(config: String, results: URL, router: URL, documentsPerBatch: Int? = 4) -> [String] {
        ["run", "--tasks", "arc_easy", "--limit", String(Self.killLimit), "--config", config,
         "--router", router.path, "--results", results.path]
            + (documentsPerBatch.map { ["--batch-size", String($0)] } ?? [])
    }

    /// Uninterrupted runs of the kill commands (baseline and routed) into one results folder.
    private func referenceResults() throws -> URL {
        let router = try routerFile()
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if Self.reference == nil {
            Self.reference = Result {
                try CLIBench.requireModel()
                let folder = try Self.sharedFolder("reference")
                let results = folder.appendingPathComponent("results")
                for config in ["baseline", "routed"] {
                    let run = try CLIProcess.run(killArguments(config: config, results: results, router: router,
                                                               documentsPerBatch: nil), in: folder)
                    guard run.status == 0, !run.signalled else {
                        XCTFail("the uninterrupted reference run failed: \(run.transcript)")
                        throw FixtureError(description: "the uninterrupted reference run failed: \(run.transcript)")
                    }
                }
                return results
            }
        }
        return try Self.reference!.get()
    }

    // MARK: Helpers

    private func folder(_ results: URL, _ run: String) -> URL {
        results.appendingPathComponent(Self.model).appendingPathComponent(run)
    }

    /// Asserts a refusal: non-zero exit (not a crash), nothing on stdout, `Error:` and each of
    /// `messages` on stderr.
    private func assertRefused(_ r: CLIResult, status: Int32? = nil, _ messages: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(r.signalled, "crashed: \(r.transcript)", file: file, line: line)
        XCTAssertNotEqual(r.status, 0, "expected a non-zero exit: \(r.transcript)", file: file, line: line)
        if let status { XCTAssertEqual(r.status, status, r.transcript, file: file, line: line) }
        XCTAssertEqual(r.stdout, "", "nothing belongs on stdout: \(r.transcript)", file: file, line: line)
        XCTAssertTrue(r.stderr.hasPrefix("Error: "), r.transcript, file: file, line: line)
        for m in messages {
            XCTAssertTrue(r.stderr.contains(m), "stderr lacks \(m.debugDescription): \(r.transcript)", file: file, line: line)
        }
        for bad in ["Fatal error", "NSCocoaErrorDomain", "error 512", ".. "] where !messages.contains(where: { $0.contains(bad) }) {
            XCTAssertFalse(r.stderr.contains(bad), "unclear message (\(bad)): \(r.transcript)", file: file, line: line)
        }
    }

    /// Asserts that no file exists under `folder` (it may be absent or an empty folder).
    private func assertNoFiles(under folder: URL, file: StaticString = #filePath, line: UInt = #line) {
        let files = CLIFiles.files(under: folder)
        XCTAssertEqual(files, [], "expected nothing written under \(folder.path)", file: file, line: line)
    }

    /// Starts `arguments`, waits until `records` holds at least one complete record but not all
    /// `total`, and sends `signal`.
    private func interrupt(_ arguments: [String], in workingDirectory: URL, records: URL, total: Int,
                           with signal: Int32) throws -> (CLIResult, linesAtSignal: Int) {
        let process = try CLIProcess(arguments, workingDirectory: workingDirectory)
        let deadline = Date().addingTimeInterval(240)
        var lines = 0
        while process.process.isRunning && Date() < deadline {
            lines = CLIFiles.lineCount(records)
            if lines >= 1 { break }
            usleep(20_000)
        }
        guard lines >= 1 && lines < total && process.process.isRunning else {
            process.send(SIGKILL)
            let r = try process.wait(timeout: 30)
            XCTFail("could not catch the run midway (\(lines) of \(total) records): \(r.transcript)")
            throw FixtureError(description: "run not caught midway")
        }
        process.send(signal)
        return (try process.wait(timeout: 120), lines)
    }

    /// Asserts that a resumed run's files equal the uninterrupted reference's: records except their
    /// `seconds`, the summary except its `timing`, and the configuration byte for byte.
    private func assertSameAsReference(run: String, task: String, resumed: URL, reference: URL,
                                       file: StaticString = #filePath, line: UInt = #line) throws {
        let a = folder(reference, run), b = folder(resumed, run)
        let recordsA = try CLIFiles.recordsWithoutTiming(a.appendingPathComponent("\(task).jsonl"))
        let recordsB = try CLIFiles.recordsWithoutTiming(b.appendingPathComponent("\(task).jsonl"))
        XCTAssertEqual(recordsB.split(separator: "\n").count, Self.killLimit, file: file, line: line)
        XCTAssertEqual(recordsB, recordsA, "records (seconds aside) differ from the uninterrupted run", file: file, line: line)
        let summaryA = try CLIFiles.summaryWithoutTiming(a.appendingPathComponent("\(task).json"))
        let summaryB = try CLIFiles.summaryWithoutTiming(b.appendingPathComponent("\(task).json"))
        XCTAssertTrue(summaryB.contains(#""timing" : {}"#), "the summary's timing object was not found", file: file, line: line)
        XCTAssertEqual(summaryB, summaryA, "summary (timing aside) differs from the uninterrupted run", file: file, line: line)
        XCTAssertEqual(try Data(contentsOf: b.appendingPathComponent("\(task).config.json")),
                       try Data(contentsOf: a.appendingPathComponent("\(task).config.json")), file: file, line: line)
        XCTAssertEqual(CLIFiles.files(under: b), ["\(task).config.json", "\(task).json", "\(task).jsonl"],
                       "temporary files left behind", file: file, line: line)
    }

    // MARK: 1. bench run

    func testRunBothConfigurationsWritesEveryFileAndPrintsTheScoreTable() throws {
        let (results, run) = try suiteRun()
        XCTAssertEqual(run.status, 0, run.transcript)
        let table = run.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(table.first, "| task | run | metric | score | ± SE | n | layers/doc | complete |", run.transcript)
        for (config, task) in [("baseline", "arc_easy"), ("baseline", "gsm8k"), ("routed", "arc_easy"), ("routed", "gsm8k")] {
            XCTAssertTrue(table.contains { $0.hasPrefix("| \(task) | \(config) |") && $0.hasSuffix("| 3 | \(rowLayers(results, config, task)) | yes |") },
                          "no score row for \(config)/\(task): \(run.transcript)")
        }

        for config in ["baseline", "routed"] {
            let f = folder(results, config)
            XCTAssertEqual(CLIFiles.files(under: f), ["arc_easy.config.json", "arc_easy.json", "arc_easy.jsonl",
                                                      "gsm8k.config.json", "gsm8k.json", "gsm8k.jsonl"])
            for task in ["arc_easy", "gsm8k"] {
                let records = try CLIFiles.records(f.appendingPathComponent("\(task).jsonl"))
                XCTAssertEqual(records.map { $0["index"] as? Int }, [0, 1, 2])
                let summary = try CLIFiles.jsonObject(f.appendingPathComponent("\(task).json"))
                XCTAssertEqual(summary["complete"] as? Bool, true)
                XCTAssertEqual(summary["n"] as? Int, 3)
                XCTAssertEqual(summary["run"] as? String, config)
                let configuration = try CLIFiles.jsonObject(f.appendingPathComponent("\(task).config.json"))
                XCTAssertEqual(configuration["policy"] as? String, config == "baseline" ? "full" : "routers")
                XCTAssertEqual(configuration["model"] as? String, Self.model)
                XCTAssertEqual(configuration["limit"] as? Int, 3)
                XCTAssertEqual(configuration["router_sha256"] != nil, config == "routed")
                XCTAssertEqual(configuration["blas_cores"] as? [String], [OpenBLASCore.name], "the kernel family is recorded")
                XCTAssertEqual((summary["configuration"] as? NSDictionary), configuration as NSDictionary)
            }
        }
        // A forced kernel family that leaves AVX-512 unused is noted, once per command.
        let notes = run.stderr.components(separatedBy: "note: OPENBLAS_CORETYPE=").count - 1
        XCTAssertEqual(notes, OpenBLASCore.forcedFamilyNotice == nil ? 0 : 1, run.transcript)

        // Baseline runs every block once; the random routers skip or repeat some.
        let baseline = try CLIFiles.records(folder(results, "baseline").appendingPathComponent("arc_easy.jsonl"))
        for r in baseline {
            XCTAssertEqual((r["path"] as? [String: Any])?["blocks"] as? [Int], Array(0..<30))
        }
        let routed = try ["arc_easy", "gsm8k"].flatMap {
            try CLIFiles.records(folder(results, "routed").appendingPathComponent("\($0).jsonl"))
        }
        let changes = routed.map { r -> Int in
            let p = r["path"] as? [String: Any]
            return ((p?["skipped"] as? Int) ?? 0) + ((p?["repeated"] as? Int) ?? 0)
        }
        XCTAssertGreaterThan(changes.reduce(0, +), 0, "random routers should skip or repeat some blocks")
    }

    /// The `layers/doc` column as the table prints it, from the summary.
    private func rowLayers(_ results: URL, _ config: String, _ task: String) -> String {
        let url = folder(results, config).appendingPathComponent("\(task).json")
        guard let s = try? CLIFiles.jsonObject(url), let layers = s["layers"] as? [String: Any],
              let mean = layers["mean_block_applications"] as? Double else { return "?" }
        return String(format: "%.1f", mean)
    }

    func testFixedPathRunIsAThirdConfigurationStoredUnderItsName() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        // Skip block 5, repeat block 10.
        let path = Array(0..<5) + Array(6...10) + [10] + Array(11..<30)
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "2", "--path",
                                    path.map(String.init).joined(separator: ","), "--name", "skip5-repeat10",
                                    "--results", results.path], in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.stdout.contains("| arc_easy | skip5-repeat10 | acc,none |"), r.transcript)
        XCTAssertEqual(CLIFiles.files(under: results),
                       ["\(Self.model)/skip5-repeat10/arc_easy.config.json", "\(Self.model)/skip5-repeat10/arc_easy.json",
                        "\(Self.model)/skip5-repeat10/arc_easy.jsonl"])
        let f = folder(results, "skip5-repeat10")
        let configuration = try CLIFiles.jsonObject(f.appendingPathComponent("arc_easy.config.json"))
        XCTAssertEqual(configuration["policy"] as? String, "fixed")
        XCTAssertEqual(configuration["fixed_path"] as? [Int], path)
        let records = try CLIFiles.records(f.appendingPathComponent("arc_easy.jsonl"))
        XCTAssertEqual(records.count, 2)
        for record in records {
            let p = record["path"] as? [String: Any]
            XCTAssertEqual(p?["blocks"] as? [Int], path)
            XCTAssertEqual(p?["skipped"] as? Int, 1)
            XCTAssertEqual(p?["repeated"] as? Int, 1)
            let choices = (record["choice_loglikelihoods"] as? [Double])?.count ?? 0
            XCTAssertEqual(record["block_applications"] as? Int, path.count * choices)
        }
    }

    func testRouterBlendTowardExecuteAboveOneHalfIsTheBaselineUnderItsOwnName() throws {
        // The shared suite's random routers skip and repeat; α = 0.6 toward execute must undo all of it.
        let (suiteResults, _) = try suiteRun()
        let router = try routerFile()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "3", "--fewshot", "1", "--config", "routed",
                                    "--router", router.path, "--router-blend", "execute:0.6", "--name", "knob",
                                    "--results", results.path], in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.stdout.contains("| arc_easy | knob | acc,none |"), r.transcript)
        let f = folder(results, "knob")
        let configuration = try CLIFiles.jsonObject(f.appendingPathComponent("arc_easy.config.json"))
        XCTAssertEqual(configuration["policy"] as? String, "routers")
        XCTAssertEqual((configuration["settings"] as? [String: Any])?["router_blend"] as? String, "execute:0.6")
        let knob = try CLIFiles.records(f.appendingPathComponent("arc_easy.jsonl"))
        let baseline = try CLIFiles.records(folder(suiteResults, "baseline").appendingPathComponent("arc_easy.jsonl"))
        XCTAssertEqual(knob.count, 3)
        for (k, b) in zip(knob, baseline) {
            XCTAssertEqual((k["path"] as? [String: Any])?["blocks"] as? [Int], Array(0..<30))
            XCTAssertEqual(k["choice_loglikelihoods"] as? [Double], b["choice_loglikelihoods"] as? [Double])
        }

        // Resuming the same run with another knob is refused, naming the setting.
        let changed = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "3", "--fewshot", "1", "--config", "routed",
                                          "--router", router.path, "--router-blend", "skip:0.1", "--name", "knob",
                                          "--results", results.path], in: work)
        assertRefused(changed, ["settings.router_blend", "'execute:0.6'", "'skip:0.1'"])
    }

    func testRoutingOnWholeSequencesIsRecordedAndScoresEachChoiceOnItsOwnPath() throws {
        let router = try routerFile()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "3", "--fewshot", "1", "--config", "routed",
                                    "--router", router.path, "--routing-input", "sequence", "--name", "per-choice",
                                    "--results", results.path], in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        let f = folder(results, "per-choice")
        let configuration = try CLIFiles.jsonObject(f.appendingPathComponent("arc_easy.config.json"))
        XCTAssertEqual((configuration["settings"] as? [String: Any])?["routing_input"] as? String, "sequence")
        let records = try CLIFiles.records(f.appendingPathComponent("arc_easy.jsonl"))
        XCTAssertEqual(records.count, 3)
        // The shared suite's random routers decide on the hidden states, so a choice's tokens move
        // its path: some document must hold more than one path.
        XCTAssertTrue(records.contains { (($0["path"] as? [String: Any])?["other_paths"] as? [[Int]])?.isEmpty == false },
                      "\(records.map { $0["path"] ?? "" })")
        let (suiteResults, _) = try suiteRun()
        let plain = try CLIFiles.jsonObject(folder(suiteResults, "routed").appendingPathComponent("arc_easy.config.json"))
        XCTAssertNil((plain["settings"] as? [String: Any])?["routing_input"], "the default is not recorded")
    }

    func testMalformedRouterBlendsAreRefused() throws {
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let base = ["run", "--tasks", "arc_easy", "--limit", "1", "--results", results.path]
        for (extra, message) in [(["--config", "routed", "--router-blend", "0.2"], "--router-blend needs --name"),
                                 (["--config", "both", "--router-blend", "0.2", "--name", "k"], "--router-blend needs --config routed"),
                                 (["--config", "routed", "--router-blend", "1.5", "--name", "k"], "1.5 is not in [0, 1]"),
                                 (["--config", "routed", "--router-blend", "halt:0.2", "--name", "k"], "unknown class 'halt'"),
                                 (["--config", "routed", "--router-blend", "execute:x", "--name", "k"], "expected ALPHA or CLASS:ALPHA"),
                                 (["--config", "baseline", "--name", "k"], "--config baseline run is always 'baseline'"),
                                 (["--config", "routed", "--routing-input", "sequence"], "--routing-input sequence needs --name"),
                                 (["--config", "both", "--routing-input", "sequence", "--name", "k"], "--routing-input needs --config routed"),
                                 (["--config", "routed", "--routing-input", "choice", "--name", "k"], "routing-input"),
                                 (["--config", "baseline", "--batch-size", "0"], "--batch-size must be at least 1")] {
            let r = try CLIProcess.run(base + extra, in: work)
            assertRefused(r, status: 64, [message])
        }
        assertNoFiles(under: results)
    }

    // MARK: 2. Interrupt and resume

    func testSIGINTStopsGracefullyAndTheRerunMatchesAnUninterruptedRun() throws {
        let router = try routerFile()
        let reference = try referenceResults()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let arguments = killArguments(config: "baseline", results: results, router: router)
        let records = folder(results, "baseline").appendingPathComponent("arc_easy.jsonl")

        let (stopped, _) = try interrupt(arguments, in: work, records: records, total: Self.killLimit, with: SIGINT)
        XCTAssertFalse(stopped.signalled, stopped.transcript)
        XCTAssertEqual(stopped.status, 130, stopped.transcript)
        XCTAssertTrue(stopped.stderr.contains("interrupted during 'arc_easy'"), stopped.transcript)
        XCTAssertTrue(stopped.stderr.contains("rerun the same command to resume"), stopped.transcript)
        // Partial state: whole records only, and a partial summary that says so.
        let done = CLIFiles.lineCount(records)
        XCTAssertGreaterThanOrEqual(done, 1)
        XCTAssertLessThan(done, Self.killLimit)
        XCTAssertEqual(try Data(contentsOf: records).last, 0x0A, "the records end with a torn line")
        let partial = try CLIFiles.jsonObject(folder(results, "baseline").appendingPathComponent("arc_easy.json"))
        XCTAssertEqual(partial["complete"] as? Bool, false)
        XCTAssertEqual(partial["n"] as? Int, done)
        XCTAssertEqual(partial["documents"] as? Int, Self.killLimit)
        XCTAssertTrue(stopped.stderr.contains("after \(done) of \(Self.killLimit) documents"), stopped.transcript)

        let resumed = try CLIProcess.run(arguments, in: work)
        XCTAssertEqual(resumed.status, 0, resumed.transcript)
        XCTAssertTrue(resumed.stderr.contains("\(done)/\(Self.killLimit) already done"), "did not resume: \(resumed.transcript)")
        XCTAssertTrue(resumed.stdout.contains("| arc_easy | baseline |"), resumed.transcript)
        try assertSameAsReference(run: "baseline", task: "arc_easy", resumed: results, reference: reference)
    }

    func testSIGKILLLosesNoFinishedRecordAndTheRerunMatchesAnUninterruptedRun() throws {
        let router = try routerFile()
        let reference = try referenceResults()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let arguments = killArguments(config: "routed", results: results, router: router)
        let records = folder(results, "routed").appendingPathComponent("arc_easy.jsonl")

        let (killed, linesAtSignal) = try interrupt(arguments, in: work, records: records, total: Self.killLimit, with: SIGKILL)
        XCTAssertTrue(killed.signalled, killed.transcript)
        XCTAssertEqual(killed.status, SIGKILL, killed.transcript)
        let done = CLIFiles.lineCount(records)
        XCTAssertGreaterThanOrEqual(done, linesAtSignal, "records written before the kill were lost")
        XCTAssertLessThan(done, Self.killLimit)
        // The runner rewrites a partial summary after every batch, so a killed run leaves the one of
        // its last finished batch: never marked complete, never counting records the file lacks.
        let summary = folder(results, "routed").appendingPathComponent("arc_easy.json")
        if FileManager.default.fileExists(atPath: summary.path) {
            let partial = try CLIFiles.jsonObject(summary)
            XCTAssertEqual(partial["complete"] as? Bool, false, "a killed run cannot have written its final summary")
            XCTAssertLessThanOrEqual(try XCTUnwrap(partial["n"] as? Int), done, "the summary counts records that were lost")
            XCTAssertEqual(partial["documents"] as? Int, Self.killLimit)
        }

        let resumed = try CLIProcess.run(arguments, in: work)
        XCTAssertEqual(resumed.status, 0, resumed.transcript)
        XCTAssertTrue(resumed.stderr.contains("\(done)/\(Self.killLimit) already done"), "did not resume: \(resumed.transcript)")
        XCTAssertTrue(resumed.stdout.contains("| arc_easy | routed |"), resumed.transcript)
        try assertSameAsReference(run: "routed", task: "arc_easy", resumed: results, reference: reference)
    }

    // MARK: 3. bench compare

    func testCompareWritesMarkdownAndCSVReports() throws {
        let (results, _) = try suiteRun()
        let work = try makeTemporaryFolder(self)
        let reports = work.appendingPathComponent("reports")
        let before = CLIFiles.files(under: results)
        let r = try CLIProcess.run(["compare", "baseline", "routed", "--results", results.path, "--reports", reports.path],
                                   in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertTrue(r.stdout.contains("|---"), "no Markdown table on stdout: \(r.transcript)")
        XCTAssertTrue(r.stdout.contains("arc_easy") && r.stdout.contains("gsm8k"), r.transcript)
        let md = reports.appendingPathComponent(Self.model).appendingPathComponent("baseline-vs-routed.md")
        let csv = reports.appendingPathComponent(Self.model).appendingPathComponent("baseline-vs-routed.csv")
        XCTAssertTrue(FileManager.default.fileExists(atPath: md.path), r.transcript)
        XCTAssertTrue(FileManager.default.fileExists(atPath: csv.path), r.transcript)
        let markdown = try String(contentsOf: md, encoding: .utf8)
        XCTAssertEqual(markdown, r.stdout, "the report file should hold what was printed")
        let csvLines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(csvLines.contains { $0.hasPrefix("arc_easy,") || $0.contains(",arc_easy,") }, csvLines.joined(separator: "\n"))
        XCTAssertTrue(csvLines.contains { $0.hasPrefix("gsm8k,") || $0.contains(",gsm8k,") }, csvLines.joined(separator: "\n"))
        XCTAssertTrue(CLIFiles.files(under: reports).contains("\(Self.model)/baseline-vs-routed-accuracy.svg"),
                      "no accuracy plot: \(CLIFiles.files(under: reports))")
        XCTAssertTrue(r.stderr.contains("wrote \(md.path), \(csv.path)"), r.transcript)
        XCTAssertEqual(CLIFiles.files(under: results), before, "compare must not change the results")
    }

    // MARK: bench export --format lm-eval (read back by lm-eval's own code in scripts/lmeval/check_export.sh)

    func testExportWritesLMEvalResultsAndOneSampleLinePerDocumentAndFilter() throws {
        let (results, _) = try suiteRun()
        let work = try makeTemporaryFolder(self)
        let out = work.appendingPathComponent("export")
        let stamp = "2026-12-05T10-00-00.000000"
        let r = try CLIProcess.run(["export", "--run", "routed", "--results", results.path, "--out", out.path, "--timestamp", stamp],
                                   in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        XCTAssertEqual(Set(CLIFiles.files(under: out)),
                       ["results_\(stamp).json", "samples_arc_easy_\(stamp).jsonl", "samples_gsm8k_\(stamp).jsonl"])
        let exported = try CLIFiles.jsonObject(out.appendingPathComponent("results_\(stamp).json"))
        let table = try XCTUnwrap(exported["results"] as? [String: [String: Any]])
        for task in ["arc_easy", "gsm8k"] {
            let summary = try CLIFiles.jsonObject(results.appendingPathComponent("\(Self.model)/routed/\(task).json"))
            let metrics = try XCTUnwrap(summary["metrics"] as? [String: [String: Any]])
            for (key, metric) in metrics {
                XCTAssertEqual(table[task]?[key] as? Double, metric["value"] as? Double, "\(task) \(key)")
                let (name, filter) = (key.split(separator: ",")[0], key.split(separator: ",")[1])
                XCTAssertEqual(table[task]?["\(name)_stderr,\(filter)"] as? Double, metric["stderr"] as? Double, "\(task) \(key) stderr")
            }
            XCTAssertEqual((exported["n-samples"] as? [String: [String: Int]])?[task]?["effective"], 3)
        }
        let gsm8kConfiguration = try CLIFiles.jsonObject(results.appendingPathComponent("\(Self.model)/routed/gsm8k.config.json"))
        XCTAssertEqual((exported["n-shot"] as? [String: Int])?["gsm8k"], gsm8kConfiguration["fewshot"] as? Int)
        XCTAssertEqual((exported["versions"] as? [String: String])?["gsm8k"], "3.0")
        // GSM8K: one line per document and filter, its extraction in filtered_resps, its metric at top level.
        let gsm8k = try CLIFiles.records(out.appendingPathComponent("samples_gsm8k_\(stamp).jsonl"))
        let records = try CLIFiles.records(results.appendingPathComponent("\(Self.model)/routed/gsm8k.jsonl"))
        XCTAssertEqual(gsm8k.count, 6)
        XCTAssertEqual(Set(gsm8k.compactMap { $0["filter"] as? String }), ["strict-match", "flexible-extract"])
        for sample in gsm8k {
            let docID = try XCTUnwrap(sample["doc_id"] as? Int)
            let record = try XCTUnwrap(records.first { $0["index"] as? Int == docID })
            let filter = try XCTUnwrap(sample["filter"] as? String)
            XCTAssertEqual(sample["exact_match"] as? Double, (record["metrics"] as? [String: Double])?["exact_match,\(filter)"])
            XCTAssertEqual((sample["resps"] as? [[String]])?.first?.first, record["prediction"] as? String)
            XCTAssertEqual(((sample["arguments"] as? [String: [String: Any]])?["gen_args_0"]?["arg_0"] as? String)?.hasSuffix("Answer:"), true)
        }
        // ARC: one line per document, each choice's log-likelihood as lm-eval writes a response.
        let arc = try CLIFiles.records(out.appendingPathComponent("samples_arc_easy_\(stamp).jsonl"))
        let arcRecords = try CLIFiles.records(results.appendingPathComponent("\(Self.model)/routed/arc_easy.jsonl"))
        XCTAssertEqual(arc.count, 3)
        for sample in arc {
            let record = try XCTUnwrap(arcRecords.first { $0["index"] as? Int == sample["doc_id"] as? Int })
            let lls = try XCTUnwrap(record["choice_loglikelihoods"] as? [Double])
            let filtered = try XCTUnwrap(sample["filtered_resps"] as? [[String]])
            // Foundation's JSON parser on Linux may lose the last digit; the exported text is Swift's exact form.
            for (text, ll) in zip(filtered.map { $0[0] }, lls) { XCTAssertEqual(Double(text)!, ll, accuracy: abs(ll) * 1e-14) }
            XCTAssertEqual(filtered.count, lls.count)
            XCTAssertEqual((sample["arguments"] as? [String: Any])?.count, lls.count)
            XCTAssertEqual(sample["acc"] as? Double, (record["metrics"] as? [String: Double])?["acc,none"])
        }
        // The same export twice gives the same bytes.
        let again = work.appendingPathComponent("again")
        let r2 = try CLIProcess.run(["export", "--run", "routed", "--results", results.path, "--out", again.path, "--timestamp", stamp],
                                    in: work)
        XCTAssertEqual(r2.status, 0, r2.transcript)
        for file in CLIFiles.files(under: out) {
            XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent(file)), try Data(contentsOf: again.appendingPathComponent(file)), file)
        }
        let missing = try CLIProcess.run(["export", "--run", "nosuch", "--results", results.path, "--out", again.path], in: work)
        assertRefused(missing, ["no results in", "nosuch"])
    }

    // MARK: bench perf-routed

    func testPerfRoutedTimesBothConfigurationsOnTheSameDocumentsAndTheRouters() throws {
        try CLIBench.requireModel()
        let router = try routerFile()
        let work = try makeTemporaryFolder(self)
        let reports = work.appendingPathComponent("reports")
        let r = try CLIProcess.run(["perf-routed", "--tasks", "arc_easy,dart_1", "--limit", "2", "--repetitions", "1",
                                    "--router", router.path, "--reports", reports.path], in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        let folder = reports.appendingPathComponent(Self.model)
        let markdown = try String(contentsOf: folder.appendingPathComponent("routing-speed.md"), encoding: .utf8)
        XCTAssertEqual(markdown, r.stdout)
        let speed = try JSONDecoder().decode(RoutingSpeed.self, from: Data(contentsOf: folder.appendingPathComponent("routing-speed.json")))
        XCTAssertEqual(speed.tasks.map(\.task), ["arc_easy", "dart_1"])
        for t in speed.tasks {
            XCTAssertEqual(t.documents, 2)
            // One decision per block at each prompt's prefill (ARC: one context per question).
            XCTAssertEqual(t.routerDecisions, 2 * 30, t.task)
            XCTAssertGreaterThan(t.routerSeconds, 0, t.task)
            XCTAssertLessThan(t.routerSeconds, t.routedSeconds, t.task)
            XCTAssertNotEqual(t.routedBlocks, t.baselineBlocks, "random routers skip or repeat blocks (\(t.task))")
        }
        let arc = speed.tasks[0]
        XCTAssertEqual(arc.baselineBlocks.truncatingRemainder(dividingBy: 30), 0, "baseline: 30 blocks per choice")
        XCTAssertEqual(speed.tasks[1].baselineGeneratedTokens, speed.tasks[1].baselineBlocks / 30, accuracy: 1e-9,
                       "DART: one 30-block pass per generated token")
    }

    // MARK: bench perf-attention

    func testPerfAttentionPrintsItsMeasurementAndRefusesAnEmptyCache() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let r = try CLIProcess.run(["perf-attention", "--positions", "40", "--rounds", "1", "--tokens", "1"], in: work)
        XCTAssertEqual(r.status, 0, r.transcript)
        let result = try JSONDecoder().decode(DecodeAttentionBenchmark.Result.self, from: Data(r.stdout.utf8))
        XCTAssertEqual([result.positions, result.rounds, result.tokens_per_round], [40, 1, 1])
        assertRefused(try CLIProcess.run(["perf-attention", "--positions", "0"], in: work),
                      ["--positions", "at least 1"])
    }

    // MARK: 4. bench report --readme

    func testReportRewritesOnlyTheMarkedBlockAndASecondRunChangesNothing() throws {
        let (results, _) = try suiteRun()
        let work = try makeTemporaryFolder(self)
        let reports = work.appendingPathComponent("reports")
        let readme = work.appendingPathComponent("README.md")
        let head = "# Project\n\nIntro text, kept byte for byte: ünïcödé, trailing spaces   \n\n\(ReadmeReport.beginMarker)"
        let tail = "\(ReadmeReport.endMarker)\n\n## After\n\nMore text.\n"
        try Data((head + "\nstale table\n" + tail).utf8).write(to: readme)
        let arguments = ["report", "--readme", "--readme-file", readme.path, "--results", results.path, "--reports", reports.path]

        let first = try CLIProcess.run(arguments, in: work)
        XCTAssertEqual(first.status, 0, first.transcript)
        let updated = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(updated.hasPrefix(head), "text before the block changed:\n\(updated)")
        XCTAssertTrue(updated.hasSuffix(tail), "text after the block changed:\n\(updated)")
        XCTAssertFalse(updated.contains("stale table"), updated)
        XCTAssertTrue(updated.contains(Self.model), updated)
        XCTAssertTrue(updated.contains("arc_easy") && updated.contains("gsm8k"), updated)
        XCTAssertTrue(FileManager.default.fileExists(
            atPath: reports.appendingPathComponent(Self.model).appendingPathComponent("baseline-vs-routed.md").path))

        let bytes = try Data(contentsOf: readme)
        let second = try CLIProcess.run(arguments, in: work)
        XCTAssertEqual(second.status, 0, second.transcript)
        XCTAssertEqual(try Data(contentsOf: readme), bytes, "a second report changed the README")
        XCTAssertTrue(second.stderr.contains("already up to date"), second.transcript)
        XCTAssertEqual(CLIFiles.files(under: work), ["README.md"] + CLIFiles.files(under: reports).map { "reports/\($0)" },
                       "temporary files left behind")
    }

    // MARK: 5. Bad input

    func testUnknownTaskIsRefusedBeforeAnythingIsWritten() throws {
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy,nosuch", "--limit", "1", "--results", results.path], in: work)
        assertRefused(r, ["unknown benchmark 'nosuch'", "arc_easy"])
        assertNoFiles(under: results)
    }

    func testUnknownSuiteIsRefused() throws {
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--suite", "nosuch", "--results", results.path], in: work)
        assertRefused(r, status: 64, ["unknown suite 'nosuch'", "indomain, ood or all"])
        assertNoFiles(under: results)
    }

    func testCompareWithAMissingRunIsRefused() throws {
        let (results, _) = try suiteRun()
        let work = try makeTemporaryFolder(self)
        let reports = work.appendingPathComponent("reports")
        let r = try CLIProcess.run(["compare", "baseline", "nosuch", "--results", results.path, "--reports", reports.path],
                                   in: work)
        assertRefused(r, ["no results in", folder(results, "nosuch").path, "Run `bench run` first"])
        assertNoFiles(under: reports)

        let empty = work.appendingPathComponent("empty-results")
        let none = try CLIProcess.run(["compare", "--results", empty.path, "--reports", reports.path], in: work)
        assertRefused(none, ["no results in", folder(empty, "baseline").path])
        assertNoFiles(under: reports)
    }

    func testReportOnAReadmeWithoutMarkersLeavesItUnchanged() throws {
        let (results, _) = try suiteRun()
        let work = try makeTemporaryFolder(self)
        let reports = work.appendingPathComponent("reports")
        let readme = work.appendingPathComponent("README.md")
        let original = Data("# Project\n\nNo markers here.\n\(ReadmeReport.beginMarker.dropLast(4))\n".utf8)
        try original.write(to: readme)
        let r = try CLIProcess.run(["report", "--readme", "--readme-file", readme.path, "--results", results.path,
                                    "--reports", reports.path], in: work)
        assertRefused(r, [readme.path, "has no line '\(ReadmeReport.beginMarker)'", "The file was not changed"])
        XCTAssertEqual(try Data(contentsOf: readme), original)
        assertNoFiles(under: reports)
        XCTAssertEqual(CLIFiles.files(under: work), ["README.md"])
    }

    func testAnUnwritableResultsFolderIsRefusedBeforeTheModelLoads() throws {
        let work = try makeTemporaryFolder(self)
        let plainFile = work.appendingPathComponent("a-file")
        try Data("keep".utf8).write(to: plainFile)
        for (results, reason) in [("/proc/nope", "No such file or directory"),
                                  (plainFile.appendingPathComponent("results").path, "'\(plainFile.path)' is a file, not a folder")] {
            let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "1", "--config", "baseline",
                                        "--results", results], in: work)
            assertRefused(r, ["cannot write to the folder '\(results)'", reason, "--results"])
            XCTAssertFalse(r.stderr.contains("starting"), "work started: \(r.transcript)")
        }
        XCTAssertEqual(try Data(contentsOf: plainFile), Data("keep".utf8))
        XCTAssertEqual(CLIFiles.files(under: work), ["a-file"])
    }

    func testAMissingModelIsRefused() throws {
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "1", "--config", "baseline",
                                    "--model", "/nonexistent.gguf", "--results", results.path], in: work)
        assertRefused(r, ["model file '/nonexistent.gguf' does not exist"])
        assertNoFiles(under: results)

        let score = try CLIProcess.run(["score", "--model", "/nonexistent.gguf", "--context", "The sky is",
                                        "--continuation", " blue"], in: work)
        assertRefused(score, ["model file '/nonexistent.gguf' does not exist"])
    }

    func testAMalformedPathIsRefused() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "1", "--path", "0,x,2", "--name", "bad",
                                    "--results", results.path], in: work)
        assertRefused(r, status: 64, ["--path", "malformed layer path '0,x,2'", "'x'"])
        assertNoFiles(under: results)

        let score = try CLIProcess.run(["score", "--context", "The sky is", "--continuation", " blue", "--path", "0,,1"],
                                       in: work)
        assertRefused(score, status: 64, ["--path", "malformed layer path '0,,1'"])

        let unnamed = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "1", "--path", "0,1",
                                          "--results", results.path], in: work)
        assertRefused(unnamed, status: 64, ["--path needs --name"])
        assertNoFiles(under: results)
    }

    // MARK: --backend openai (the server side is tested in OpenAIBackendTests and scripts/openai/)

    func testServedBackendRefusesRoutedRunsAndStrayOptions() throws {
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let served = ["run", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--tasks", "arc_easy",
                      "--limit", "1", "--results", results.path]
        assertRefused(try CLIProcess.run(served + ["--config", "routed"], in: work), status: 64,
                      ["--backend openai runs the baseline only", "need the native engine"])
        assertRefused(try CLIProcess.run(served + ["--path", "0,1", "--name", "p"], in: work), status: 64,
                      ["--backend openai runs the baseline only"])
        assertRefused(try CLIProcess.run(["run", "--backend", "openai", "--tasks", "arc_easy", "--results", results.path], in: work), status: 64,
                      ["--backend openai needs --base-url"])
        assertRefused(try CLIProcess.run(["run", "--backend", "openai", "--base-url", "127.0.0.1:8000", "--tasks", "arc_easy",
                                          "--results", results.path], in: work), status: 64, ["127.0.0.1:8000", "http://"])
        assertRefused(try CLIProcess.run(["run", "--base-url", "http://127.0.0.1:9/v1", "--tasks", "arc_easy",
                                          "--results", results.path], in: work), status: 64,
                      ["--base-url applies to --backend openai only"])
        assertRefused(try CLIProcess.run(served + ["--backend", "vllm"], in: work), status: 64,
                      ["unknown --backend 'vllm'", "native or openai"])
        assertRefused(try CLIProcess.run(served + ["--model", "my-served-7b"], in: work), status: 64,
                      ["'my-served-7b' is not a model from `bench models`", "--tokenizer"])
        assertNoFiles(under: results)
    }

    func testAServerThatIsNotThereStopsTheRunWithAClearMessageAndNoRecords() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        // Port 9 (discard) has no HTTP server on loopback: every attempt is refused.
        let r = try CLIProcess.run(["run", "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", Self.model,
                                    "--tasks", "arc_easy", "--limit", "2", "--retries", "1", "--results", results.path], in: work)
        XCTAssertFalse(r.signalled, r.transcript)
        XCTAssertNotEqual(r.status, 0, r.transcript)
        for m in ["http://127.0.0.1:9/v1/completions", "2 attempts", "rerun the same command to resume"] {
            XCTAssertTrue(r.stderr.contains(m), "stderr lacks \(m.debugDescription): \(r.transcript)")
        }
        for file in CLIFiles.files(under: results) where file.hasSuffix(".jsonl") {
            XCTAssertEqual(CLIFiles.lineCount(results.appendingPathComponent(file)), 0, "\(file) holds records: \(r.transcript)")
        }
    }

    func testAPathOutOfRangeIsRefused() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let results = work.appendingPathComponent("results")
        let r = try CLIProcess.run(["run", "--tasks", "arc_easy", "--limit", "1", "--path", "0,1,30", "--name", "bad",
                                    "--results", results.path], in: work)
        assertRefused(r, status: 64, ["--path", "block 30", "0...29"])
        assertNoFiles(under: results)

        let generate = try CLIProcess.run(["generate", "--prompt", "Hello", "--max-tokens", "1", "--path", "0,99"], in: work)
        assertRefused(generate, status: 64, ["--path", "block 99", "0...29"])
    }

    func testAnEmptyPromptIsRefused() throws {
        let work = try makeTemporaryFolder(self)
        let r = try CLIProcess.run(["generate", "--prompt", ""], in: work)
        assertRefused(r, status: 64, ["--prompt is empty"])
    }

    func testACorruptModelFileIsRefused() throws {
        try CLIBench.requireModel()
        let work = try makeTemporaryFolder(self)
        let source = try FileHandle(forReadingFrom: CLIBench.modelFile)
        defer { try? source.close() }
        let head = try source.read(upToCount: 5_000_000) ?? Data()
        let truncated = work.appendingPathComponent("truncated.gguf")
        try head.write(to: truncated)
        let headerOnly = work.appendingPathComponent("header-only.gguf")
        try head.prefix(1000).write(to: headerOnly)
        let notGGUF = work.appendingPathComponent("not-a-model.gguf")
        try Data("hello, world".utf8).write(to: notGGUF)

        for (model, message) in [(truncated, "truncated"), (headerOnly, "truncated or corrupt"), (notGGUF, "not a GGUF file")] {
            let r = try CLIProcess.run(["score", "--model", model.path, "--context", "The sky is", "--continuation", " blue"],
                                       in: work)
            assertRefused(r, [model.path, message])
        }
        XCTAssertEqual(CLIFiles.files(under: work), ["header-only.gguf", "not-a-model.gguf", "truncated.gguf"])
    }
}
