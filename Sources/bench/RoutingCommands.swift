import ArgumentParser
import Benchmarks
import Engine
import Foundation
import Harness
import Routing

struct MCTS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcts",
        abstract: "Search layer paths per training example (Dr.LLM supervision) and append JSONL records (resumable).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Training mix TASK:COUNT,… (tasks: arc_easy_letter, arc_challenge_letter, dart_1…dart_5). Default: the paper's proportions scaled to --total.")
    var mix: String?
    @Option(help: "Examples in the default mix (the paper keeps 4000).") var total: Int = 4000
    @Option(help: "Output JSONL file.") var output: String = "data/mcts/smollm2-135m-instruct.jsonl"
    @Option(help: "Simulations per example.") var simulations: Int = 50
    @Option(help: "Seed for sampling examples and for the search.") var seed: UInt64 = 0
    @Option(help: "Chat template of the in-domain prompts.") var chat: ChatTemplateChoice = .chatml

    func run() throws {
        let model = try modelOptions.load()
        let sources = try mix.map(SupervisionSource.parse) ?? SupervisionSource.paperMix(total: total)
        var config = MCTSConfig()
        config.simulations = simulations
        try config.check()
        let generator = SupervisionGenerator(model: model, tasksDirectory: try TasksDirectory.locate(), sources: sources,
                                             config: config, seed: seed, chatTemplate: chat.template)
        let t0 = ProgressReporter.monotonicSeconds()
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
        let allKept = records.filter(\.kept)
        struct Summary: Encodable {
            let output: String; let examples: Int; let kept: Int; let improved: Int; let default_correct: Int
            let mean_layers_saved_kept: Double; let searched_now: Int; let seconds_now: Double
            let prompt_blocks_computed_now: Int; let prompt_blocks_reused_now: Int
        }
        try printJSON(Summary(
            output: output, examples: records.count, kept: allKept.count, improved: records.filter(\.improved).count,
            default_correct: records.filter(\.defaultCorrect).count,
            mean_layers_saved_kept: allKept.isEmpty ? 0 : Double(allKept.compactMap(\.layersSaved).reduce(0, +)) / Double(allKept.count),
            searched_now: seen, seconds_now: ProgressReporter.monotonicSeconds() - t0,
            prompt_blocks_computed_now: computed, prompt_blocks_reused_now: reused))
    }
}

struct TrainRouter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-router",
        abstract: "Train the per-block routers on MCTS records (teacher forcing, focal loss, AdamW) and write a RouterSet.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "MCTS records (JSONL from `bench mcts`).") var records: String = "data/mcts/smollm2-135m-instruct.jsonl"
    @Option(help: "Output RouterSet file.") var output: String = "routers/smollm2-135m-instruct.routers"
    @Option(help: "Epochs.") var epochs: Int = 25
    @Option(name: .customLong("batch-size"), help: "Batch size.") var batchSize: Int = 16
    @Option(name: .customLong("lr"), help: "Peak learning rate.") var learningRate: Float = 1e-3
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay: Float = 0.01
    @Option(help: "Warm-up steps (clamped to 10% of all steps).") var warmup: Int = 500
    @Option(help: "Focal loss gamma.") var gamma: Double = 2
    @Option(help: "Class-balance beta.") var beta: Double = 0.999
    @Option(name: .customLong("held-out"), help: "Held-out fraction.") var heldOut: Double = 0.1
    @Option(help: "Pooling windows.") var windows: Int = 8
    @Option(help: "Seed.") var seed: UInt64 = 0

    func run() throws {
        let model = try modelOptions.load()
        let recordsURL = URL(fileURLWithPath: records)
        guard FileManager.default.fileExists(atPath: records) else {
            throw ValidationError("--records: \(records) does not exist (run `bench mcts` first)")
        }
        let all = try SupervisionGenerator.readRecords(recordsURL)
        var reporter = ProgressReporter(label: "teacher forcing", total: all.filter(\.kept).count)
        let examples = try RouterTrainingData.build(records: all, model: model, windows: windows) { done, _ in
            reporter.advance(by: done - reporter.done)
        }
        reporter.finish()
        guard !examples.isEmpty else { throw SupervisionError.noKeptExamples(file: records) }
        var config = RouterTrainingConfig()
        config.epochs = epochs
        config.batchSize = batchSize
        config.learningRate = learningRate
        config.weightDecay = weightDecay
        config.warmupSteps = warmup
        config.focalGamma = gamma
        config.classBalanceBeta = beta
        config.heldOutFraction = heldOut
        config.windows = windows
        config.seed = seed
        let (_, path) = try ModelLocator().resolve(modelOptions.model)
        let provenance = RouterProvenance(
            modelName: model.name, modelSHA256: try FileDigest.sha256(path: path),
            trainingDataSHA256: try FileDigest.sha256(path: records),
            commandLine: (["bench"] + CommandLine.arguments.dropFirst()).joined(separator: " "), seed: seed)
        let t0 = ProgressReporter.monotonicSeconds()
        let result = try RouterTrainer(config: config).train(examples: examples, provenance: provenance) { p in
            var line = String(format: "epoch %d/%d  loss %.4f  train acc %.4f  macro-F1 %.3f", p.epoch, p.epochs, p.loss,
                              p.train.accuracy, p.train.macroF1)
            if let h = p.heldOut { line += String(format: "  held-out acc %.4f  macro-F1 %.3f", h.accuracy, h.macroF1) }
            ProgressReporter.writeToStandardError(line + "\n")
        }
        try FileManager.default.createDirectory(at: URL(fileURLWithPath: output).deletingLastPathComponent(),
                                                withIntermediateDirectories: true)
        try result.routers.write(to: output)
        struct Summary: Encodable {
            let output: String; let examples: Int; let train_label_counts: [Int]; let seconds: Double
            let metrics: [String: Double]
        }
        try printJSON(Summary(output: output, examples: examples.count, train_label_counts: result.trainLabelCounts,
                              seconds: ProgressReporter.monotonicSeconds() - t0, metrics: result.routers.provenance.metrics))
    }
}
