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
    @Option(help: "Reports folder: writes <reports>/<model>/router-training.md, .csv and two SVG curves (empty: none).")
    var reports: String = "reports"

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
            commandLine: commandLine(),
            reportFolder: reports.isEmpty ? nil : URL(fileURLWithPath: reports).appendingPathComponent(model.name, isDirectory: true),
            log: ProgressReporter.writeToStandardError))
    }
}

/// The command as typed, for provenance and reports.
func commandLine() -> String { (["bench"] + CommandLine.arguments.dropFirst()).joined(separator: " ") }

struct Oracle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "oracle",
        abstract: "Run the MCTS path search on the first test documents (it sees the answers: an upper bound on routing, never a result); resumable.",
        discussion: "Records go to <results>/<model>/oracle-mcts.jsonl (one line per document, the format of `bench mcts`); `bench control-report` turns them into the baseline / static / routers / oracle table.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Documents TASK:N,… (the first N test documents of each; tasks: \(BenchmarkRegistry.searchableNames.joined(separator: ", "))).")
    var tasks: String = "arc_easy:100,arc_challenge:100"
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Output JSONL file (default: <results>/<model>/oracle-mcts.jsonl).") var output: String?
    @Option(help: "Simulations per document.") var simulations: Int = 50
    @Option(help: "Seed for the search.") var seed: UInt64 = 0
    @Option(help: "Documents searched together (records do not depend on it).") var batch: Int = 16

    func run() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1 (got \(batch))") }
        let model = try modelOptions.resolve()
        var config = MCTSConfig()
        config.simulations = simulations
        let file = output ?? URL(fileURLWithPath: results).appendingPathComponent(model.name).appendingPathComponent("oracle-mcts.jsonl").path
        try printJSON(try SupervisionWorkflows.search(
            model: model, threads: modelOptions.threads, chatTemplate: try modelOptions.template(of: model),
            sources: try SupervisionSource.parse(tasks), config: config, seed: seed, output: file, batch: batch,
            selection: .firstEvaluation))
    }
}

struct StaticPath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "static-path",
        abstract: "Choose the static control: the single fixed layer path that makes the most training examples correct.",
        discussion: "Candidates: the default path, the per-block majority of the kept records' labels and the most frequent best paths; each is judged with the search's reward on the first --per-task records of each task. Run the result with `bench run --path P --name static`.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "MCTS records (default: the model's, from `bench models`).") var records: String?
    @Option(help: "Most frequent best paths tried (besides the default and majority paths).") var candidates: Int = 8
    @Option(name: .customLong("per-task"), help: "Training examples judged per task (the first of each task in the records).")
    var perTask: Int = 100
    @Option(help: "Examples judged together (results do not depend on it).") var batch: Int = 16
    @Option(help: "Reports folder: writes <reports>/<model>/static-path.md and .json (empty: none).") var reports: String = "reports"

    func run() throws {
        guard candidates >= 0, perTask >= 1, batch >= 1 else {
            throw ValidationError("--candidates must be ≥ 0, --per-task and --batch ≥ 1")
        }
        let model = try modelOptions.resolve()
        guard let records = records ?? model.entry?.mcts else { throw RunError.noDefaultFile(model: model.name, option: "--records") }
        let selection = try SupervisionWorkflows.staticPath(
            model: model, threads: modelOptions.threads, chatTemplate: try modelOptions.template(of: model), records: records,
            candidates: candidates, perTask: perTask, batch: batch,
            reportFolder: reports.isEmpty ? nil : URL(fileURLWithPath: reports).appendingPathComponent(model.name, isDirectory: true),
            commandLine: commandLine())
        try printJSON(selection)
    }
}

struct ControlReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "control-report",
        abstract: "Baseline, static path, routers and oracle side by side on the documents the oracle searched (Markdown, CSV, SVG).")
    @Option(name: .customLong("model"), help: "Model (the folder under results/; default: the registry's default model).")
    var model: String?
    @Option(help: "Runs to compare, the baseline first.") var runs: String = "baseline,static,routed"
    @Option(help: "Oracle records (default: <results>/<model>/oracle-mcts.jsonl).") var oracle: String?
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Reports folder.") var reports: String = "reports"
    @Option(help: "A command that produced the inputs, shown in the report (repeatable).") var command: [String] = []

    func run() throws {
        let name = try model ?? ModelLocator().registry().defaultModel
        let runNames = runs.split(separator: ",").map(String.init)
        guard !runNames.isEmpty else { throw ValidationError("--runs needs at least one run") }
        let file = oracle ?? URL(fileURLWithPath: results).appendingPathComponent(name).appendingPathComponent("oracle-mcts.jsonl").path
        let report = try SupervisionWorkflows.controlReport(
            resultsDir: URL(fileURLWithPath: results), reportsDir: URL(fileURLWithPath: reports), model: name, oracle: file,
            runs: runNames, commands: command + [commandLine()])
        print(report.markdown(commands: command + [commandLine()]))
    }
}
