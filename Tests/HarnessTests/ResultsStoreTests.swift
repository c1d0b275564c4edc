import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

final class ResultsStoreTests: XCTestCase {
    func testLayoutNamesFilesByModelRunAndTask() {
        let store = ResultsStore(root: URL(fileURLWithPath: "/r"))
        XCTAssertEqual(store.recordsFile(model: "m", run: "baseline", task: "arc_easy").path, "/r/m/baseline/arc_easy.jsonl")
        XCTAssertEqual(store.summaryFile(model: "m", run: "baseline", task: "arc_easy").path, "/r/m/baseline/arc_easy.json")
        XCTAssertEqual(store.configurationFile(model: "m", run: "routed", task: "x").path, "/r/m/routed/x.config.json")
    }

    func testAppendedRecordsAreOneLineEachAndReadBack() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let config = sampleConfiguration()
        let log = try store.openTask(configuration: config)
        let records = (0..<3).map { sampleRecord(index: $0, correct: $0 != 1) }
        for r in records { try log.append(r) }
        log.close()

        let text = try String(contentsOf: store.recordsFile(model: "tiny", run: "baseline", task: "toy"), encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n", omittingEmptySubsequences: false).count, 4, "3 lines + final newline")
        XCTAssertTrue(text.hasPrefix("{\"block_applications\":16,\"choice_loglikelihoods\":[-1.5,-0.25,-3,-4],\"chosen_index\":1,"))
        XCTAssertEqual(try store.loadRecords(model: "tiny", run: "baseline", task: "toy"), records)
        // The sidecar holds the configuration before any summary exists.
        let sidecar = try JSONDecoder().decode(RunConfiguration.self,
                                               from: Data(contentsOf: store.configurationFile(model: "tiny", run: "baseline", task: "toy")))
        XCTAssertEqual(sidecar, config)
    }

    func testResumeSkipsFinishedRecordsAndAppendsAfterThem() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let config = sampleConfiguration()
        do {
            let log = try store.openTask(configuration: config)
            try log.append(sampleRecord(index: 0, correct: true))
            try log.append(sampleRecord(index: 1, correct: false))
        }   // dropped without close: deinit releases the lock, as process death would
        let log = try store.openTask(configuration: config)
        XCTAssertEqual(log.finishedIDs, ["doc-0", "doc-1"])
        XCTAssertTrue(log.contains(id: "doc-1"))
        try log.append(sampleRecord(index: 2, correct: true))
        XCTAssertEqual(log.records.map(\.index), [0, 1, 2])
        XCTAssertThrowsRunError(.duplicateRecord(file: log.file.path, id: "doc-2"),
                                try log.append(sampleRecord(index: 2, correct: true)))
    }

    func testTornLastLineIsDroppedAndTheFileRepaired() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let config = sampleConfiguration()
        let file = store.recordsFile(model: "tiny", run: "baseline", task: "toy")
        do {
            let log = try store.openTask(configuration: config)
            try log.append(sampleRecord(index: 0, correct: true))
            log.close()
        }
        let intact = try Data(contentsOf: file)
        // A SIGKILL in the middle of a write leaves part of a line without its newline.
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("{\"block_applications\":16,\"choi".utf8))
        try handle.close()
        XCTAssertEqual(try store.loadRecords(model: "tiny", run: "baseline", task: "toy").count, 1, "readers ignore the torn line")

        let log = try store.openTask(configuration: config)
        XCTAssertEqual(log.records.count, 1)
        XCTAssertEqual(try Data(contentsOf: file), intact, "the torn bytes are truncated away")
        try log.append(sampleRecord(index: 1, correct: true))
        log.close()
        XCTAssertEqual(try store.loadRecords(model: "tiny", run: "baseline", task: "toy").map(\.id), ["doc-0", "doc-1"])
    }

    func testCorruptCompleteLineIsAnErrorNamingTheLine() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let config = sampleConfiguration()
        let log = try store.openTask(configuration: config)
        try log.append(sampleRecord(index: 0, correct: true))
        log.close()
        let file = store.recordsFile(model: "tiny", run: "baseline", task: "toy")
        let handle = try FileHandle(forWritingTo: file)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("not json\n".utf8))
        try handle.close()
        let error = runError { try store.openTask(configuration: config) }
        guard case let .corruptRecord(path, line, _) = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(path, file.path)
        XCTAssertEqual(line, 2)
        XCTAssertTrue(error!.localizedDescription.contains("line 2"))
    }

    func testChangedConfigurationIsRefusedWithTheKeysThatDiffer() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let log = try store.openTask(configuration: sampleConfiguration())
        try log.append(sampleRecord(index: 0, correct: true))
        log.close()
        let records = store.recordsFile(model: "tiny", run: "baseline", task: "toy")
        let before = try Data(contentsOf: records)

        let changed = sampleConfiguration(modelSHA256: "bbbb", fewshot: 5)
        let file = store.configurationFile(model: "tiny", run: "baseline", task: "toy").path
        XCTAssertThrowsRunError(.configurationChanged(file: file, changes: [
            ConfigurationChange(key: "model_sha256", old: "'aaaa'", new: "'bbbb'"),
            ConfigurationChange(key: "fewshot", old: "0", new: "5"),
        ]), try store.openTask(configuration: changed))
        let message = RunError.configurationChanged(file: file, changes: [ConfigurationChange(key: "fewshot", old: "0", new: "5")])
            .localizedDescription
        XCTAssertTrue(message.contains("fewshot was 0 and is now 5") && message.contains("--force"), message)
        XCTAssertEqual(try Data(contentsOf: records), before, "a refused run writes nothing")

        // --force starts over with the new configuration.
        let forced = try store.openTask(configuration: changed, force: true)
        XCTAssertTrue(forced.records.isEmpty)
        XCTAssertEqual(try Data(contentsOf: records), Data())
    }

    func testLimitMayGrowButNotShrink() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        try store.openTask(configuration: sampleConfiguration(limit: 5)).close()
        try store.openTask(configuration: sampleConfiguration(limit: 10)).close()
        try store.openTask(configuration: sampleConfiguration(limit: nil)).close()
        let error = runError { try store.openTask(configuration: sampleConfiguration(limit: 3)) }
        guard case let .configurationChanged(_, changes) = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(changes.map(\.key), ["limit"])
    }

    func testCodeVersionsAreInformationalAndAccumulateAcrossResumes() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        func configuration(_ versions: [String]?) -> RunConfiguration {
            var c = sampleConfiguration()
            c.codeVersions = versions
            return c
        }
        try store.openTask(configuration: configuration(nil)).close()   // written before versions were recorded
        try store.openTask(configuration: configuration(["aaaa"])).close()
        try store.openTask(configuration: configuration(["bbbb-dirty"])).close()
        let log = try store.openTask(configuration: configuration(["aaaa"]))
        XCTAssertEqual(log.configuration.codeVersions, ["aaaa", "bbbb-dirty"], "the summary sees every version that wrote records")
        log.close()
        let file = store.configurationFile(model: "tiny", run: "baseline", task: "toy")
        let stored = try JSONDecoder().decode(RunConfiguration.self, from: Data(contentsOf: file))
        XCTAssertEqual(stored.codeVersions, ["aaaa", "bbbb-dirty"])
        XCTAssertEqual(configuration(["x"]).changes(from: stored), [])
        // Configurations without versions keep their bytes (committed runs are unchanged).
        XCTAssertFalse(String(decoding: try CanonicalJSON.prettyData(configuration(nil)), as: UTF8.self).contains("code_versions"))
    }

    func testKernelFamiliesAreInformationalAndAccumulateAcrossResumes() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        func configuration(_ cores: [String]?) -> RunConfiguration {
            var c = sampleConfiguration()
            c.blasCores = cores
            return c
        }
        try store.openTask(configuration: configuration(nil)).close()
        try store.openTask(configuration: configuration(["Haswell"])).close()
        try store.openTask(configuration: configuration(["Cooperlake"])).close()
        let log = try store.openTask(configuration: configuration(["Haswell"]))
        XCTAssertEqual(log.configuration.blasCores, ["Haswell", "Cooperlake"])
        log.close()
        let file = store.configurationFile(model: "tiny", run: "baseline", task: "toy")
        let stored = try JSONDecoder().decode(RunConfiguration.self, from: Data(contentsOf: file))
        XCTAssertEqual(stored.blasCores, ["Haswell", "Cooperlake"])
        XCTAssertEqual(configuration(["SkylakeX"]).changes(from: stored), [], "a kernel family never blocks a resume")
        XCTAssertFalse(String(decoding: try CanonicalJSON.prettyData(configuration(nil)), as: UTF8.self).contains("blas_cores"))
    }

    func testRecordsWithoutTheirConfigurationAreRefused() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let log = try store.openTask(configuration: sampleConfiguration())
        try log.append(sampleRecord(index: 0, correct: true))
        log.close()
        let config = store.configurationFile(model: "tiny", run: "baseline", task: "toy")
        try FileManager.default.removeItem(at: config)
        XCTAssertThrowsRunError(.missingConfiguration(recordsFile: store.recordsFile(model: "tiny", run: "baseline", task: "toy").path,
                                                      expected: config.path),
                                try store.openTask(configuration: sampleConfiguration()))
    }

    func testNewerFormatIsRefused() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        try store.openTask(configuration: sampleConfiguration()).close()
        let config = store.configurationFile(model: "tiny", run: "baseline", task: "toy")
        try Data("{\"format_version\": 99}".utf8).write(to: config)
        XCTAssertThrowsRunError(.newerFormat(file: config.path, found: 99, supported: 1),
                                try store.openTask(configuration: sampleConfiguration()))
    }

    func testOlderConfigurationsReadWithDefaults() throws {
        let json = #"{"format_version":1,"task":"arc_easy","model":"m","model_sha256":"x","data_sha256":"d"}"#
        let config = try JSONDecoder().decode(RunConfiguration.self, from: Data(json.utf8))
        XCTAssertEqual(config.task, "arc_easy")
        XCTAssertEqual(config.policy, .full)
        XCTAssertEqual(config.settings, [:])
        XCTAssertNil(config.limit)
    }

    func testSecondWriterOnTheSameTaskIsRefused() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        let first = try store.openTask(configuration: sampleConfiguration())
        XCTAssertThrowsRunError(.runInProgress(file: first.file.path), try store.openTask(configuration: sampleConfiguration()))
        first.close()
        try store.openTask(configuration: sampleConfiguration()).close()
    }

    func testUnwritableResultsFolderFailsBeforeAnyWork() throws {
        let folder = try makeTemporaryFolder(self)
        // A regular file where a folder should be: creating folders below it fails even for root.
        let blocker = folder.appendingPathComponent("file")
        try Data("x".utf8).write(to: blocker)
        let store = ResultsStore(root: blocker.appendingPathComponent("results"))
        let error = runError { try store.prepare() }
        guard case let .unwritableFolder(path, reason)? = error else { return XCTFail("got \(String(describing: error))") }
        XCTAssertEqual(path, blocker.appendingPathComponent("results").path)
        XCTAssertFalse(reason.isEmpty)
        XCTAssertTrue(error!.localizedDescription.contains("--results"))
        XCTAssertNotNil(runError { try store.openTask(configuration: sampleConfiguration()) })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), ["file"], "nothing half-written")
    }

    func testNamesThatAreNotPathComponentsAreRefused() throws {
        let store = ResultsStore(root: try makeTemporaryFolder(self))
        XCTAssertThrowsRunError(.invalidName(kind: "run", name: "../x"),
                                try store.openTask(configuration: sampleConfiguration(run: "../x")))
        XCTAssertThrowsRunError(.invalidName(kind: "model", name: ".hidden"),
                                try store.openTask(configuration: sampleConfiguration(model: ".hidden")))
    }

    func testSummaryIsWrittenAtomicallyAndReadBack() throws {
        let root = try makeTemporaryFolder(self)
        let store = ResultsStore(root: root)
        let config = sampleConfiguration()
        let records = (0..<4).map { sampleRecord(index: $0, correct: $0 % 2 == 0, path: $0 == 3 ? [0, 1, 1, 3] : [0, 1, 2, 3]) }
        try store.openTask(configuration: config).close()
        let summary = sampleSummary(config, records.reversed(), documents: 5)
        try store.writeSummary(summary)
        XCTAssertEqual(try store.loadSummary(model: "tiny", run: "baseline", task: "toy"), summary)
        XCTAssertEqual(try store.tasks(model: "tiny", run: "baseline"), ["toy"])
        XCTAssertEqual(try store.models(), ["tiny"])
        XCTAssertEqual(try store.runs(model: "tiny"), ["baseline"])
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.runFolder(model: "tiny", run: "baseline").path)
            .filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")

        XCTAssertEqual(summary.n, 4)
        XCTAssertFalse(summary.complete)
        XCTAssertEqual(summary.metrics["acc,none"]?.value, 0.5)
        XCTAssertEqual(summary.metrics["acc,none"]!.stderr!, (1.0 / 3.0 / 4).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(summary.layers.meanBlockApplications, 16)
        XCTAssertEqual(summary.layers.meanSkipped, 0.25)
        XCTAssertEqual(summary.layers.meanRepeated, 0.25)
        XCTAssertEqual(summary.layers.perLayer[2], LayerUsage(skip: 0.25, execute: 0.75, repeat: 0))
        XCTAssertEqual(summary.layers.perLayer[1], LayerUsage(skip: 0, execute: 0.75, repeat: 0.25))
        XCTAssertEqual(summary.timing.seconds, 2)
    }

    func testSummaryDependsOnlyOnRecordsNotOnTheirOrderOrTiming() throws {
        let config = sampleConfiguration()
        let records = (0..<6).map { sampleRecord(index: $0, correct: $0 % 3 != 0, seconds: Double($0)) }
        let shuffled = [records[3], records[0], records[5], records[1], records[4], records[2]]
            .map { r -> ExampleRecord in var c = r; c.seconds = 9; return c }
        let a = sampleSummary(config, records), b = sampleSummary(config, shuffled)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a.withoutTiming, b.withoutTiming)
    }

    func testPathSummaryCountsSkipsRepeatsAndOtherPaths() {
        let p = PathSummary(paths: [LayerPath([0, 1, 1, 3]), LayerPath([0, 1, 1, 3]), LayerPath([0, 1, 2, 3])], layerCount: 4)
        XCTAssertEqual(p.blocks, [0, 1, 1, 3])
        XCTAssertEqual(p.skipped, 1)
        XCTAssertEqual(p.repeated, 1)
        XCTAssertEqual(p.length, 4)
        XCTAssertEqual(p.otherPaths, [[0, 1, 2, 3]])
        XCTAssertEqual(p.multiplicities, [1, 2, 0, 1])
    }
}
