import Benchmarks
import Engine
import Foundation
import Routing
import Runs
import Supervision
import Support
import XCTest

/// Sharded runs and MCTS merged back: the same files as one process, and refused merges that
/// change nothing.
final class ShardTests: XCTestCase {
    func settings(seed: UInt64 = 1234, shard: Shard?) -> RunSettings {
        var s = RunSettings(modelName: "fake", modelSHA256: "feed", benchVersion: "test", limit: 5, seed: seed, batchSize: 2)
        s.shard = shard
        return s
    }

    /// Runs arc_easy and gsm8k (5 documents) on the fake model, whole or as shard `shard`.
    func run(into root: URL, shard: Shard?, seed: UInt64 = 1234) throws {
        let folder = shard.map { root.appendingPathComponent("shards/\($0.folderName)") } ?? root
        let runner = SuiteRunner(model: FakeLanguageModel(), store: ResultsStore(root: folder), settings: settings(seed: seed, shard: shard),
                                 progressStyle: .silent)
        let benchmarks = try ["arc_easy", "gsm8k"].map { try BenchmarkRegistry.load($0, from: repositoryTasks) }
        _ = try runner.run(benchmarks, policies: [.baseline(), .fixed(LayerPath([0, 1, 1, 3]), name: "path")])
    }

    func withoutSeconds(_ url: URL) throws -> String {
        try String(contentsOf: url, encoding: .utf8).replacingOccurrences(of: #","seconds":[-0-9.eE+]+"#, with: "", options: .regularExpression)
    }

    func testThreeShardsMergeToTheRecordsOfOneProcess() throws {
        let one = try makeTemporaryFolder(self), split = try makeTemporaryFolder(self)
        try run(into: one, shard: nil)
        for i in 1...3 { try run(into: split, shard: try Shard(number: i, count: 3)) }
        let merged = try ShardMerge.merge(results: split)
        XCTAssertEqual(merged.count, 4)
        for run in ["baseline", "path"] {
            for task in ["arc_easy", "gsm8k"] {
                let store1 = ResultsStore(root: one), store2 = ResultsStore(root: split)
                XCTAssertEqual(try withoutSeconds(store1.recordsFile(model: "fake", run: run, task: task)),
                               try withoutSeconds(store2.recordsFile(model: "fake", run: run, task: task)), "\(run)/\(task)")
                XCTAssertEqual(try Data(contentsOf: store1.configurationFile(model: "fake", run: run, task: task)),
                               try Data(contentsOf: store2.configurationFile(model: "fake", run: run, task: task)))
                XCTAssertEqual(try store1.loadSummary(model: "fake", run: run, task: task).withoutTiming,
                               try store2.loadSummary(model: "fake", run: run, task: task).withoutTiming)
            }
        }
        XCTAssertEqual(try ResultsStore(root: split).models(), ["fake"], "shards/ is not a model")
    }

    func testRefusedMergesChangeNothing() throws {
        let split = try makeTemporaryFolder(self)
        for i in [1, 3] { try run(into: split, shard: try Shard(number: i, count: 3)) }
        XCTAssertThrowsError(try ShardMerge.merge(results: split)) { error in
            XCTAssertEqual(error as? ShardMergeError, .missingShards(numbers: [2], count: 3, folder: split.appendingPathComponent("shards").path))
        }
        // Shard 2 run with another seed.
        try run(into: split, shard: try Shard(number: 2, count: 3), seed: 7)
        XCTAssertThrowsError(try ShardMerge.merge(results: split)) { error in
            guard case let .configurationsDiffer(shard, _, changes)? = error as? ShardMergeError else { return XCTFail("\(error)") }
            XCTAssertEqual(shard, "2/3")
            XCTAssertEqual(changes.map(\.key), ["seed"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: split.appendingPathComponent("fake").path), "nothing written")

        // The right shard 2, plus a document copied into shard 3 as well.
        try FileManager.default.removeItem(at: split.appendingPathComponent("shards/2-of-3"))
        try run(into: split, shard: try Shard(number: 2, count: 3))
        let file2 = split.appendingPathComponent("shards/2-of-3/fake/baseline/arc_easy.jsonl")
        let file3 = split.appendingPathComponent("shards/3-of-3/fake/baseline/arc_easy.jsonl")
        let line = try String(contentsOf: file2, encoding: .utf8).split(separator: "\n")[0]
        try (try String(contentsOf: file3, encoding: .utf8) + line + "\n").write(to: file3, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ShardMerge.merge(results: split)) { error in
            guard case let .duplicateDocument(task, _, shards)? = error as? ShardMergeError else { return XCTFail("\(error)") }
            XCTAssertEqual(task, "arc_easy")
            XCTAssertEqual(shards, ["2/3", "3/3"])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: split.appendingPathComponent("fake").path), "nothing written")
    }

    func testShardFromTheSchedulersEnvironment() throws {
        XCTAssertEqual(try Shard(parsing: "2/3"), try Shard(number: 2, count: 3))
        XCTAssertThrowsError(try Shard(parsing: "0/3"))
        XCTAssertThrowsError(try Shard(parsing: "4/3"))
        XCTAssertNil(try Shard.fromEnvironment([:]))
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "4", "SLURM_ARRAY_TASK_COUNT": "3"]),
                       try Shard(number: 2, count: 3))
        XCTAssertEqual(try Shard.fromEnvironment(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "2"]),
                       try Shard(number: 1, count: 3))
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "2", "DRLLM_SHARDS": "3"]), try Shard(number: 3, count: 3))
        XCTAssertEqual(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"], count: 4), try Shard(number: 1, count: 4))
        XCTAssertThrowsError(try Shard.fromEnvironment(["JOB_COMPLETION_INDEX": "0"])) { error in
            XCTAssertEqual(error as? ShardError, .missingCount(scheduler: "Kubernetes completion index 0"))
        }
        // Round-robin over positions: every position in exactly one shard.
        let shards = try (1...3).map { try Shard(number: $0, count: 3) }
        for p in 0..<10 { XCTAssertEqual(shards.filter { $0.contains(position: p) }.count, 1) }
    }

    /// MCTS over 3 shards, merged, equals one process record for record (`seconds` aside).
    func testShardedSearchMergesToTheOneProcessRecords() throws {
        let model = try loadDefaultModel()
        var config = MCTSConfig()
        config.simulations = 3
        let generator = SupervisionGenerator(model: model, tasksDirectory: repositoryTasks,
                                             sources: [SupervisionSource(task: "arc_easy", count: 4)],
                                             config: config, seed: 5, chatTemplate: ChatMLTemplate.smolLM2)
        let folder = try makeTemporaryFolder(self)
        let once = folder.appendingPathComponent("once.jsonl"), split = folder.appendingPathComponent("split.jsonl")
        _ = try generator.run(output: once)
        for i in 1...3 {
            let shard = try Shard(number: i, count: 3)
            _ = try generator.run(output: URL(fileURLWithPath: SupervisionShards.file(of: split.path, shard: shard)), shard: shard)
        }
        XCTAssertEqual(try SupervisionShards.merge(output: split.path), 4)
        XCTAssertEqual(try withoutSeconds(once), try withoutSeconds(split))
    }
}
