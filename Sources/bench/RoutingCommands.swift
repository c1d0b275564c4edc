import ArgumentParser
import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Routing
import Support

struct MCTS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcts",
        abstract: "Search layer paths per training example (Dr.LLM supervision) and append JSONL records (resumable).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Training mix TASK:COUNT,… (tasks: arc_easy_letter, arc_challenge_letter, dart_1…dart_5). Default: the paper's proportions scaled to --total.")
    var mix: String?
    @Option(help: "Examples in the default mix (the paper keeps 4000).") var total: Int = 4000
    @Option(help: "Output JSONL file (default: the model's, from `bench models`).") var output: String?
    @Option(help: "Simulations per example.") var simulations: Int = 50
    @Option(help: "Seed for sampling examples and for the search.") var seed: UInt64 = 0
    @Option(help: "Examples searched together, their candidate paths evaluated in one batch (records do not depend on it).")
    var batch: Int = 16
    @OptionGroup var shardOptions: ShardOptions

    func run() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        let model = try modelOptions.resolve()
        guard let output = output ?? model.entry?.mcts else { throw RunError.noDefaultFile(model: model.name, option: "--output") }
        var config = MCTSConfig()
        config.simulations = simulations
        try printJSON(try SupervisionWorkflows.search(
            model: model, threads: modelOptions.threads, chatTemplate: try modelOptions.template(of: model),
            sources: try mix.map(SupervisionSource.parse) ?? SupervisionSource.paperMix(total: total),
            config: config, seed: seed, output: output, shard: try shardOptions.resolve(), batch: batch))
    }
}

struct TrainRouter: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-router",
        abstract: "Train the per-block routers on MCTS records (teacher forcing, focal loss, AdamW) and write a RouterSet.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "MCTS records (JSONL from `bench mcts`; default: the model's, from `bench models`).") var records: String?
    @Option(help: "Output RouterSet file (default: the model's, from `bench models`).") var output: String?
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
        let model = try modelOptions.resolve()
        guard let records = records ?? model.entry?.mcts else { throw RunError.noDefaultFile(model: model.name, option: "--records") }
        guard let output = output ?? model.entry?.routers else { throw RunError.noDefaultFile(model: model.name, option: "--output") }
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
        try printJSON(try SupervisionWorkflows.train(
            model: model, threads: modelOptions.threads, records: records, output: output, config: config,
            commandLine: (["bench"] + CommandLine.arguments.dropFirst()).joined(separator: " "),
            log: ProgressReporter.writeToStandardError))
    }
}
