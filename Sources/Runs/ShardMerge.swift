import Benchmarks
import Foundation
import Support

/// `bench merge`: gathers the shards of split runs into the run folders, so that `compare` and
/// `report` see one run. The merged records are the shards' record lines, byte for byte, in the
/// one-machine order; the summary is computed from them as a one-machine run computes it.
///
/// Everything is checked before anything is written: every shard 1…N is there, every shard ran
/// the same configuration (model, router, data, code version, settings; the shard setting aside),
/// no document is missing or in two shards, and a run folder that already holds the task holds
/// the same configuration. A refused merge changes nothing.
public enum ShardMerge {
    /// The configuration setting that names a shard (`I/N`); the merged configuration has none.
    public static let shardSetting = "shard"

    /// One merged task.
    public struct MergedTask: Sendable, Equatable {
        public var model: String
        public var run: String
        public var task: String
        public var documents: Int
        public var shards: Int
    }

    /// Merges every task of every shard under `<results>/shards/`.
    public static func merge(results: URL, model onlyModel: String? = nil, run onlyRun: String? = nil) throws -> [MergedTask] {
        let shardsRoot = results.appendingPathComponent(ResultsStore.shardsFolder, isDirectory: true)
        let shards = try shardFolders(shardsRoot)
        let stores = shards.map { ResultsStore(root: shardsRoot.appendingPathComponent($0.folderName)) }
        let destination = ResultsStore(root: results)
        let tasksDirectory = try TasksDirectory.locate()

        // (model, run, task) triples present in any shard.
        var triples: [(String, String, String)] = []
        for store in stores {
            for model in try store.models() where onlyModel == nil || model == onlyModel {
                for run in try store.runs(model: model) where onlyRun == nil || run == onlyRun {
                    for task in try store.tasks(model: model, run: run) where !triples.contains(where: { $0 == (model, run, task) }) {
                        triples.append((model, run, task))
                    }
                }
            }
        }
        guard !triples.isEmpty else { throw ShardMergeError.nothingToMerge(folder: shardsRoot.path) }

        // Check all, then write all.
        var plans: [(configuration: RunConfiguration, benchmark: LoadedBenchmark, lines: [Data], records: [ExampleRecord], documents: Int)] = []
        for (model, run, task) in triples {
            var configuration: RunConfiguration?
            var byID: [String: (shard: Shard, line: Data, record: ExampleRecord)] = [:]
            for (shard, store) in zip(shards, stores) {
                let configURL = store.configurationFile(model: model, run: run, task: task)
                guard let stored = try ResultsStore.loadConfiguration(configURL) else {
                    throw ShardMergeError.missingTask(shard: shard.description, model: model, run: run, task: task)
                }
                guard stored.settings[shardSetting] == shard.description else {
                    throw ShardMergeError.wrongShard(file: configURL.path, found: stored.settings[shardSetting] ?? "none",
                                                     expected: shard.description)
                }
                var unsharded = stored
                unsharded.settings[shardSetting] = nil
                if let configuration {
                    let changes = unsharded.changes(from: configuration)
                    if !changes.isEmpty { throw ShardMergeError.configurationsDiffer(shard: shard.description, task: task, changes: changes) }
                } else {
                    configuration = unsharded
                }
                let file = store.recordsFile(model: model, run: run, task: task)
                for (line, record) in try recordLines(file) {
                    if let other = byID[record.id] {
                        throw ShardMergeError.duplicateDocument(task: task, id: record.id, shards: [other.shard.description, shard.description])
                    }
                    byID[record.id] = (shard, line, record)
                }
            }
            guard let configuration else { continue }
            // The documents a one-machine run of this configuration scores, in its order.
            let options = BenchmarkOptions(fewshot: configuration.fewshotRequested, fewshotSeed: Int(configuration.seed),
                                           chatTemplate: configuration.chatTemplate ? ChatMLTemplate(defaultSystemPrompt: nil) : PlainTemplate(),
                                           split: DocumentSplit(rawValue: configuration.settings["split"] ?? "") ?? .evaluation,
                                           maxGenerationTokens: configuration.settings["max_gen_tokens"].flatMap { Int($0) })
            let benchmark = try BenchmarkRegistry.load(task, from: tasksDirectory, options: options)
            let indices = benchmark.indices(limit: configuration.limit)
            var lines: [Data] = [], records: [ExampleRecord] = []
            var missing: [(String, String)] = []
            for (position, index) in indices.enumerated() {
                let id = benchmark.documents[index].id
                guard let found = byID.removeValue(forKey: id) else {
                    missing.append((Shard.owner(of: position, count: shards.count).description, id))
                    continue
                }
                lines.append(found.line)
                records.append(found.record)
            }
            if !missing.isEmpty {
                throw ShardMergeError.missingDocuments(task: task, count: missing.count,
                                                       first: missing.prefix(3).map { "\($0.1) (shard \($0.0))" })
            }
            if let stray = byID.first {
                throw ShardMergeError.unexpectedDocument(task: task, id: stray.key, shard: stray.value.shard.description)
            }
            if let existing = try ResultsStore.loadConfiguration(destination.configurationFile(model: model, run: run, task: task)) {
                let changes = configuration.changes(from: existing)
                if !changes.isEmpty { throw ShardMergeError.destinationDiffers(task: task, changes: changes) }
            }
            plans.append((configuration, benchmark, lines, records, indices.count))
        }

        var merged: [MergedTask] = []
        for plan in plans {
            let c = plan.configuration
            try FileOperations.ensureWritableFolder(destination.runFolder(model: c.model, run: c.run))
            try FileOperations.writeAtomically(plan.lines.reduce(into: Data()) { $0.append($1) },
                                               to: destination.recordsFile(model: c.model, run: c.run, task: c.task))
            try FileOperations.writeAtomically(try CanonicalJSON.prettyData(c),
                                               to: destination.configurationFile(model: c.model, run: c.run, task: c.task))
            try destination.writeSummary(SuiteRunner.summary(of: plan.benchmark, configuration: c, records: plan.records,
                                                             documents: plan.documents))
            merged.append(MergedTask(model: c.model, run: c.run, task: c.task, documents: plan.records.count, shards: shards.count))
        }
        return merged
    }

    /// The shard folders `I-of-N` under `root`: all of one N, and every I from 1 to N.
    static func shardFolders(_ root: URL) throws -> [Shard] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var shards: [Shard] = []
        for name in names where !name.hasPrefix(".") {
            guard let shard = Shard(folderName: Substring(name)) else {
                throw ShardMergeError.strayFolder(path: root.appendingPathComponent(name).path)
            }
            shards.append(shard)
        }
        guard let count = shards.first?.count else { throw ShardMergeError.nothingToMerge(folder: root.path) }
        if let other = shards.first(where: { $0.count != count }) {
            throw ShardMergeError.mixedCounts(first: "\(shards[0].folderName)", other: other.folderName)
        }
        let present = Set(shards.map(\.number))
        let absent = (1...count).filter { !present.contains($0) }
        if !absent.isEmpty { throw ShardMergeError.missingShards(numbers: absent, count: count, folder: root.path) }
        return shards.sorted { $0.number < $1.number }
    }

    /// The complete lines of a records file with their decoded records (a torn last line is not one).
    static func recordLines(_ url: URL) throws -> [(Data, ExampleRecord)] {
        guard let data = try FileOperations.readIfExists(url) else { return [] }
        let decoder = CanonicalJSON.decoder()
        var out: [(Data, ExampleRecord)] = []
        var start = data.startIndex
        while let newline = data[start...].firstIndex(of: 0x0A) {
            let line = data[start...newline]
            start = newline + 1
            guard line.count > 1 else { continue }
            do { out.append((Data(line), try decoder.decode(ExampleRecord.self, from: Data(line.dropLast())))) } catch {
                throw RunError.corruptRecord(file: url.path, line: out.count + 1, reason: CanonicalJSON.describe(error))
            }
        }
        return out
    }
}

extension Shard {
    /// The shard that owns position `position` of `count` shards.
    static func owner(of position: Int, count: Int) -> Shard {
        // position % count + 1 is in 1...count, so this cannot fail.
        try! Shard(number: position % count + 1, count: count)
    }
}

/// Why a merge was refused (nothing was written).
public enum ShardMergeError: LocalizedError, Equatable {
    case nothingToMerge(folder: String)
    case strayFolder(path: String)
    case mixedCounts(first: String, other: String)
    case missingShards(numbers: [Int], count: Int, folder: String)
    case missingTask(shard: String, model: String, run: String, task: String)
    case wrongShard(file: String, found: String, expected: String)
    case configurationsDiffer(shard: String, task: String, changes: [ConfigurationChange])
    case duplicateDocument(task: String, id: String, shards: [String])
    case missingDocuments(task: String, count: Int, first: [String])
    case unexpectedDocument(task: String, id: String, shard: String)
    case destinationDiffers(task: String, changes: [ConfigurationChange])
    case mixedSupervisionFiles(output: String, found: [String])

    public var errorDescription: String? {
        switch self {
        case let .nothingToMerge(folder): return "nothing to merge: no shard results under \(folder)"
        case let .strayFolder(path): return "\(path) is not a shard folder (expected I-of-N, e.g. 1-of-3)"
        case let .mixedCounts(first, other): return "shard folders \(first) and \(other) split the work differently"
        case let .missingShards(numbers, count, folder):
            return "shard(s) \(numbers.map(String.init).joined(separator: ", ")) of \(count) missing under \(folder): run them first"
        case let .missingTask(shard, model, run, task): return "shard \(shard) has no results for \(model)/\(run)/\(task)"
        case let .wrongShard(file, found, expected): return "\(file) records shard '\(found)', expected '\(expected)'"
        case let .configurationsDiffer(shard, task, changes):
            return "shard \(shard) ran \(task) with another configuration than shard 1: "
                + changes.map(\.description).joined(separator: "; ")
        case let .duplicateDocument(task, id, shards):
            return "\(task): document '\(id)' is in shards \(shards.joined(separator: " and "))"
        case let .missingDocuments(task, count, first):
            return "\(task): \(count) document(s) have no record yet, e.g. \(first.joined(separator: ", ")): "
                + "finish (or rerun) those shards first"
        case let .unexpectedDocument(task, id, shard):
            return "\(task): shard \(shard) holds document '\(id)', which the configuration does not cover"
        case let .destinationDiffers(task, changes):
            return "the run folder already holds \(task) with another configuration: "
                + changes.map(\.description).joined(separator: "; ")
        case let .mixedSupervisionFiles(output, found):
            return "\(output): shard files of different splits: \(found.joined(separator: ", "))"
        }
    }
}
