import Benchmarks
import Engine
import Foundation
import Routing
import Runs
import Support

/// What `bench mcts` reports when it ends.
public struct SearchSummary: Encodable, Sendable {
    public let output: String
    public let examples: Int
    public let kept: Int
    public let improved: Int
    public let defaultCorrect: Int
    public let meanLayersSavedKept: Double
    public let searchedNow: Int
    public let secondsNow: Double
    public let promptBlocksComputedNow: Int
    public let promptBlocksReusedNow: Int

    enum CodingKeys: String, CodingKey {
        case output, examples, kept, improved
        case defaultCorrect = "default_correct"
        case meanLayersSavedKept = "mean_layers_saved_kept"
        case searchedNow = "searched_now"
        case secondsNow = "seconds_now"
        case promptBlocksComputedNow = "prompt_blocks_computed_now"
        case promptBlocksReusedNow = "prompt_blocks_reused_now"
    }
}

/// What `bench train-router` reports when it ends.
public struct TrainingSummary: Encodable, Sendable {
    public let output: String
    public let examples: Int
    public let trainLabelCounts: [Int]
    public let seconds: Double
    public let metrics: [String: Double]

    enum CodingKeys: String, CodingKey {
        case output, examples, seconds, metrics
        case trainLabelCounts = "train_label_counts"
    }
}

/// The supervision commands as library functions.
public enum SupervisionWorkflows {
    /// `bench mcts` (and `bench oracle`, with `selection` `.firstEvaluation`): searches every
    /// planned example not yet in `output` (resumable), with a progress line, and summarises the
    /// whole file.
    public static func search(model resolved: ResolvedModel, threads: Int, chatTemplate: any ChatTemplate,
                              sources: [SupervisionSource], config: MCTSConfig, seed: UInt64,
                              output: String, shard: Shard? = nil, batch: Int = 16,
                              selection: SupervisionSelection = .trainingSample) throws -> SearchSummary {
        let output = shard.map { SupervisionShards.file(of: output, shard: $0) } ?? output
        try config.check()
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
        let generator = SupervisionGenerator(model: model, tasksDirectory: try TasksDirectory.locate(), sources: sources,
                                             config: config, seed: seed, chatTemplate: chatTemplate, selection: selection)
        let t0 = MonotonicClock.seconds()
        var computed = 0, reused = 0, seen = 0
        // Examples found in the output are skipped; the reporter counts them up front so that the
        // rate and ETA are about the searches of this run.
        var reporter: ProgressReporter?
        let records = try generator.run(output: URL(fileURLWithPath: output), shard: shard, concurrency: batch, started: { already, planned in
            reporter = ProgressReporter(label: "mcts", total: planned, alreadyDone: already)
        }, progress: { r in
            seen += 1
            computed += r.blocksComputed
            reused += r.blocksReused
            reporter?.advance(by: 1)
        })
        reporter?.finish()
        let kept = records.filter(\.kept)
        return SearchSummary(
            output: output, examples: records.count, kept: kept.count, improved: records.filter(\.improved).count,
            defaultCorrect: records.filter(\.defaultCorrect).count,
            meanLayersSavedKept: kept.isEmpty ? 0 : Double(kept.compactMap(\.layersSaved).reduce(0, +)) / Double(kept.count),
            searchedNow: seen, secondsNow: MonotonicClock.seconds() - t0,
            promptBlocksComputedNow: computed, promptBlocksReusedNow: reused)
    }

    /// `bench train-router`: teacher forcing along the kept records' label paths, then training;
    /// writes the RouterSet (with the model's sha256 in its provenance) to `output`.
    /// With `reportFolder`, also writes the training report there (`RouterTrainingReport`).
    public static func train(model resolved: ResolvedModel, threads: Int, records: String, output: String,
                             config: RouterTrainingConfig, commandLine: String, reportFolder: URL? = nil,
                             log: @escaping (String) -> Void) throws -> TrainingSummary {
        guard FileManager.default.fileExists(atPath: records) else {
            throw SupervisionError.missingRecords(file: records)
        }
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
        let all = try SupervisionGenerator.readRecords(URL(fileURLWithPath: records))
        var reporter = ProgressReporter(label: "teacher forcing", total: all.filter(\.kept).count)
        let examples = try RouterTrainingData.build(records: all, model: model, windows: config.windows) { done, _ in
            reporter.advance(by: done - reporter.done)
        }
        reporter.finish()
        guard !examples.isEmpty else { throw SupervisionError.noKeptExamples(file: records) }
        let provenance = RouterProvenance(
            modelName: model.name, modelSHA256: try FileDigest.sha256(path: resolved.path),
            trainingDataSHA256: try FileDigest.sha256(path: records), commandLine: commandLine, seed: config.seed)
        let t0 = MonotonicClock.seconds()
        let result = try RouterTrainer(config: config).train(examples: examples, provenance: provenance) { p in
            var line = String(format: "epoch %d/%d  loss %.4f  train acc %.4f  macro-F1 %.3f", p.epoch, p.epochs, p.loss,
                              p.train.accuracy, p.train.macroF1)
            if let h = p.heldOut { line += String(format: "  held-out acc %.4f  macro-F1 %.3f", h.accuracy, h.macroF1) }
            log(line + "\n")
        }
        try FileOperations.ensureWritableFolder(URL(fileURLWithPath: output).deletingLastPathComponent())
        try result.routers.write(to: output)
        if let reportFolder {
            try RouterTrainingReport(model: resolved.name, records: records, command: commandLine, examples: examples, result: result)
                .write(folder: reportFolder)
        }
        return TrainingSummary(output: output, examples: examples.count, trainLabelCounts: result.trainLabelCounts,
                               seconds: MonotonicClock.seconds() - t0, metrics: result.routers.provenance.metrics)
    }
}

extension SupervisionWorkflows {
    /// `bench static-path`: chooses the static control path from MCTS records (`StaticPathSearch`)
    /// and, with `reportFolder`, writes `static-path.md` and `static-path.json` there.
    public static func staticPath(model resolved: ResolvedModel, threads: Int, chatTemplate: any ChatTemplate, records: String,
                                  candidates: Int, perTask: Int, batch: Int, reportFolder: URL?,
                                  commandLine: String) throws -> StaticPathSelection {
        guard FileManager.default.fileExists(atPath: records) else { throw SupervisionError.missingRecords(file: records) }
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
        var reporter: ProgressReporter?
        let selection = try StaticPathSearch.select(
            model: model, modelName: resolved.name, recordsFile: records, tasksDirectory: try TasksDirectory.locate(),
            chatTemplate: chatTemplate, count: candidates, perTask: perTask, batch: batch) { done, total in
            if reporter == nil { reporter = ProgressReporter(label: "static path", total: total) }
            let already = reporter?.done ?? 0
            reporter?.advance(by: done - already)
        }
        reporter?.finish()
        if let reportFolder {
            try FileOperations.ensureWritableFolder(reportFolder)
            try FileOperations.writeAtomically(Data(selection.markdown(command: commandLine).utf8),
                                               to: reportFolder.appendingPathComponent("static-path.md"))
            try FileOperations.writeAtomically(try CanonicalJSON.prettyData(selection),
                                               to: reportFolder.appendingPathComponent("static-path.json"))
        }
        return selection
    }

    /// `bench control-report`: the baseline / static / routers / oracle table of `model` from the
    /// oracle's records and the runs' records under `resultsDir`, written under `reportsDir`.
    public static func controlReport(resultsDir: URL, reportsDir: URL, model: String, oracle: String, runs: [String],
                                     commands: [String]) throws -> ControlReport {
        guard FileManager.default.fileExists(atPath: oracle) else { throw SupervisionError.missingRecords(file: oracle) }
        let records = try SupervisionGenerator.readRecords(URL(fileURLWithPath: oracle))
        let store = ResultsStore(root: resultsDir)
        var loaded: [(name: String, results: [String: TaskResults])] = []
        for run in runs { loaded.append((run, try store.loadRun(model: model, run: run))) }
        guard let layerCount = loaded.first?.results.values.first?.summary.configuration.layerCount else {
            throw SupervisionError.nothingToControl
        }
        let report = try ControlReport(model: model, layerCount: layerCount, oracle: records, runs: loaded)
        try report.write(reportsDir: reportsDir, commands: commands)
        return report
    }
}

/// MCTS records split over shards: shard I of N writes `<output without .jsonl>.shard-I-of-N.jsonl`
/// holding plan positions I−1, I−1+N, …; merging interleaves them back into plan order.
public enum SupervisionShards {
    /// The file shard `shard` of `output` writes.
    public static func file(of output: String, shard: Shard) -> String {
        let base = output.hasSuffix(".jsonl") ? String(output.dropLast(6)) : output
        return "\(base).shard-\(shard.folderName).jsonl"
    }

    /// Interleaves the shard files of `output` into `output` (atomically): record p of the
    /// one-process file is record p / N of shard p mod N + 1. Refused, writing nothing, when a
    /// shard file is missing, an example is in two shards, or the counts cannot come from one plan.
    public static func merge(output: String) throws -> Int {
        let url = URL(fileURLWithPath: output)
        let folder = url.deletingLastPathComponent()
        let base = url.lastPathComponent.hasSuffix(".jsonl") ? String(url.lastPathComponent.dropLast(6)) : url.lastPathComponent
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix(base + ".shard-") && $0.hasSuffix(".jsonl") }
        var shards: [(Shard, String)] = []
        for name in names {
            guard let shard = Shard(folderName: name.dropFirst(base.count + 7).dropLast(6)) else { continue }
            shards.append((shard, name))
        }
        guard let count = shards.first?.0.count else { throw ShardMergeError.nothingToMerge(folder: folder.path + "/" + base + ".shard-*") }
        guard shards.allSatisfy({ $0.0.count == count }) else {
            throw ShardMergeError.mixedSupervisionFiles(output: output, found: shards.map(\.1).sorted())
        }
        let present = Set(shards.map(\.0.number))
        let absent = (1...count).filter { !present.contains($0) }
        if !absent.isEmpty { throw ShardMergeError.missingShards(numbers: absent, count: count, folder: folder.path) }
        shards.sort { $0.0.number < $1.0.number }
        var lines: [[Data]] = []
        var seen: [String: String] = [:]
        for (shard, name) in shards {
            let file = folder.appendingPathComponent(name)
            let data = try FileOperations.readIfExists(file) ?? Data()
            var own: [Data] = []
            for record in try SupervisionGenerator.readRecords(file) {
                let key = SupervisionGenerator.recordKey(record)
                if let other = seen[key] {
                    throw ShardMergeError.duplicateDocument(task: record.task, id: record.id, shards: [other, shard.description])
                }
                seen[key] = shard.description
            }
            var start = data.startIndex
            while let newline = data[start...].firstIndex(of: 0x0A) {
                if newline > start { own.append(Data(data[start...newline])) }
                start = newline + 1
            }
            lines.append(own)
        }
        // Counts of one plan split round-robin: shard 1 holds the most, each later one the same or one fewer.
        let counts = lines.map(\.count)
        for k in 1..<max(1, counts.count) where !(counts[k] <= counts[k - 1] && counts[k] >= counts[0] - 1) {
            throw ShardMergeError.missingDocuments(task: base, count: counts[0] - counts[k],
                                                   first: ["shard \(k + 1) of \(count) holds \(counts[k]) records, shard 1 holds \(counts[0])"])
        }
        var merged = Data()
        let total = counts.reduce(0, +)
        for p in 0..<total { merged.append(lines[p % count][p / count]) }
        try FileOperations.writeAtomically(merged, to: url)
        return total
    }
}
