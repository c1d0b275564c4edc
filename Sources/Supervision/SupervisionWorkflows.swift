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
    /// `bench mcts`: searches every planned training example not yet in `output` (resumable),
    /// with a progress line, and summarises the whole file.
    public static func search(model resolved: ResolvedModel, threads: Int, chatTemplate: any ChatTemplate,
                              sources: [SupervisionSource], config: MCTSConfig, seed: UInt64,
                              output: String) throws -> SearchSummary {
        try config.check()
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
        let generator = SupervisionGenerator(model: model, tasksDirectory: try TasksDirectory.locate(), sources: sources,
                                             config: config, seed: seed, chatTemplate: chatTemplate)
        let t0 = MonotonicClock.seconds()
        var computed = 0, reused = 0, seen = 0
        // Examples found in the output are skipped; the reporter counts them up front so that the
        // rate and ETA are about the searches of this run.
        var reporter: ProgressReporter?
        let records = try generator.run(output: URL(fileURLWithPath: output), started: { already, planned in
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
    public static func train(model resolved: ResolvedModel, threads: Int, records: String, output: String,
                             config: RouterTrainingConfig, commandLine: String,
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
        return TrainingSummary(output: output, examples: examples.count, trainLabelCounts: result.trainLabelCounts,
                               seconds: MonotonicClock.seconds() - t0, metrics: result.routers.provenance.metrics)
    }
}
