import ArgumentParser
import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Routing
import Support

extension RunConfigurations: ExpressibleByArgument {}
extension RoutingInput: ExpressibleByArgument {}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run benchmarks as `baseline` and `routed` (or a fixed --path) and store every example's record (resumable).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Suite: indomain, ood or all.") var suite: String?
    @Option(help: "Comma-separated benchmark names (see `bench tasks`); suites allowed too.") var tasks: String?
    @Option(help: "baseline, routed or both (one after the other; default both, baseline with --backend openai).")
    var config: RunConfigurations?
    @Option(help: "RouterSet file for the routed configuration (default: the model's, from `bench models`).") var router: String?
    @Option(help: "A fixed layer path (comma-separated block indices) run as a third kind of configuration.") var path: String?
    @Option(help: "Run name: required for --path; for the routed run it replaces `routed` (required with --router-blend); with --backend openai it names the baseline (e.g. beside the native one).") var name: String?
    @Option(name: .customLong("router-blend"),
            help: "The paper's control knob: blend router probabilities with a one-hot on a class before the argmax, ALPHA or CLASS:ALPHA (default class execute: more ALPHA, fewer layers saved; ALPHA > 0.5 is the baseline). Needs --name.",
            transform: { text in
                do { return try RouterBlend(parsing: text) } catch { throw ValidationError(error.localizedDescription) }
            })
    var routerBlend: RouterBlend?
    @Option(name: .customLong("routing-input"),
            help: "What the routers read for a scored choice: context (one path per document: the paper's setting) or sequence (context and choice together, one path per choice: what a server sees when lm-eval sends a loglikelihood request as one prompt). sequence needs --config routed and --name.")
    var routingInput: RoutingInput = .context
    @Option(help: "First N documents of each task (of each subtask for groups).") var limit: Int?
    @Option(help: "Few-shot examples (where lm-eval lets the count change).") var fewshot: Int?
    @Option(help: "Few-shot sampling seed (lm-eval's fewshot_random_seed).") var seed: UInt64 = 1234
    @Option(help: "Results folder.") var results: String = "results"
    @Option(name: .customLong("max-gen-tokens"), help: "Cap on generated tokens for generative tasks (AIME's lm-eval default of 32768 exceeds the context).")
    var maxGenTokens: Int?
    @Option(name: .customLong("batch-size"),
            help: "Documents sent to the model together; records are written (and an interruption loses at most) one batch at a time. Records do not depend on it.")
    var batchSize: Int = 16
    @Flag(help: "Delete existing results of each task and start over.") var force = false
    @OptionGroup var shardOptions: ShardOptions
    @OptionGroup var backendOptions: BackendOptions

    /// `--config`, defaulting to both for the native engine and to baseline for a served model.
    var configurations: RunConfigurations { config ?? (backendOptions.isServed ? .baseline : .both) }

    func validate() throws {
        if backendOptions.isServed {
            if configurations != .baseline || path != nil {
                throw ValidationError("--backend openai runs the baseline only: the server runs every block, so routers and fixed paths need the native engine")
            }
            if routerBlend != nil || router != nil || routingInput != .context {
                throw ValidationError("--router, --router-blend and --routing-input need the native engine")
            }
        }
        if suite == nil && tasks == nil { throw ValidationError("give --suite indomain|ood|all or --tasks a,b,…") }
        if let suite, BenchmarkSuite(rawValue: suite) == nil {
            throw ValidationError("unknown suite '\(suite)': expected indomain, ood or all")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if path != nil && name == nil { throw ValidationError("--path needs --name (the run's folder name)") }
        if name != nil && path == nil && configurations == .baseline && !backendOptions.isServed {
            throw ValidationError("--name names the routed or --path run; the --config baseline run is always 'baseline'")
        }
        if let maxGenTokens, maxGenTokens < 1 { throw ValidationError("--max-gen-tokens must be at least 1") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if routerBlend != nil {
            if path != nil { throw ValidationError("--router-blend applies to routed runs, not to a fixed --path") }
            if configurations != .routed { throw ValidationError("--router-blend needs --config routed (the baseline has no routers)") }
            if name == nil { throw ValidationError("--router-blend needs --name (so its results do not mix with the plain routed run)") }
        }
        if routingInput != .context {
            if path != nil { throw ValidationError("--routing-input applies to routed runs, not to a fixed --path") }
            if configurations != .routed { throw ValidationError("--routing-input needs --config routed (the baseline has no routers)") }
            if name == nil { throw ValidationError("--routing-input \(routingInput.rawValue) needs --name (so its results do not mix with the plain routed run)") }
        }
        if let path {
            do { _ = try LayerPath.parse(path) } catch { throw ValidationError("--path: \(error.description)") }
        }
    }

    func run() throws {
        let (backend, model) = try backendOptions.resolve(model: modelOptions.model)
        var request = RunRequest(
            model: model, threads: modelOptions.threads,
            tasks: try BenchmarkRegistry.resolve([suite, tasks].compactMap { $0 }.joined(separator: ",")),
            configurations: configurations, routerFile: router, fixedPath: path, name: name, routerBlend: routerBlend,
            limit: limit, fewshot: fewshot, seed: seed, maxGenerationTokens: maxGenTokens,
            chatTemplate: try modelOptions.template(of: model), extraSettings: modelOptions.templateSettings,
            resultsFolder: URL(fileURLWithPath: results), force: force, benchVersion: BenchVersion.string,
            shard: try shardOptions.resolve())
        request.backend = backend
        request.routingInput = routingInput
        request.documentsPerBatch = batchSize
        let flag = InterruptFlag()
        flag.installSignalHandler()
        do {
            print(ScoreTable.markdown(try RunWorkflow.run(request, shouldStop: { flag.isRaised })), terminator: "")
        } catch let error as LayerPathError {
            throw ValidationError("--path: \(error.description)")
        } catch RunError.interrupted(let task, let done, let total) {
            ProgressReporter.writeToStandardError("\(RunError.interrupted(task: task, done: done, total: total).localizedDescription)\n"
                                                  + "rerun the same command to resume.\n")
            throw ExitCode(130)
        }
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two runs per task: scores, Δ with a paired-bootstrap 95% CI, layers and time; writes reports/.")
    @Option(name: .customLong("model"), help: "Model name (the folder under results/; default: the registry's default model).")
    var model: String?
    @Argument(help: "First run (reference).") var runA: String = "baseline"
    @Argument(help: "Second run.") var runB: String = "routed"
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Reports folder (default: `reports` beside the results folder).") var reports: String?
    @Option(help: "Bootstrap resamples.") var resamples: Int = 10_000

    func validate() throws {
        guard resamples >= 1000 else { throw ValidationError("--resamples must be at least 1000") }
    }

    func run() throws {
        let model = try model ?? ModelLocator().registry().defaultModel
        let comparison = try Comparison.load(resultsDir: URL(fileURLWithPath: results), model: model,
                                             runA: runA, runB: runB, resamples: resamples)
        print(comparison.markdown(), terminator: "")
        let reportsDir = reportsFolder(reports, results: results)
        let files = try comparison.write(reportsDir: reportsDir)
        let plots = try Plots.write(comparison, reportsDir: reportsDir)
        ProgressReporter.writeToStandardError("wrote \(([files.markdown, files.csv] + plots).map(\.path).joined(separator: ", "))\n")
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate README's results tables (between the bench:results markers) and the SVG plots from results/.")
    @Flag(help: "Rewrite the README's results block.") var readme = false
    @Option(name: .customLong("readme-file"), help: "README to update.") var readmeFile: String = "README.md"
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Reports folder (default: `reports` beside the results folder).") var reports: String?
    @Option(name: .customLong("run"), help: "Report this one run on its own (<reports>/<model>/<run>.md and .csv) instead.")
    var runName: String?
    @Option(help: "Model of --run (default: the registry's default model).") var model: String?

    func run() throws {
        let resultsURL = URL(fileURLWithPath: results)
        let reportsDir = reportsFolder(reports, results: results)
        if let runName {
            let report = try RunReport.load(resultsDir: resultsURL, model: try model ?? ModelLocator().registry().defaultModel,
                                            run: runName, taskOrder: BenchmarkRegistry.names(in: .all) + BenchmarkRegistry.names)
            print(report.markdown(command: report.command), terminator: "")
            let files = try report.write(reportsDir: reportsDir, command: report.command)
            ProgressReporter.writeToStandardError("wrote \(files.map(\.path).joined(separator: ", "))\n")
            return
        }
        let store = ResultsStore(root: resultsURL)
        // The README first: a README without markers (or no results) is refused before any report is written.
        if readme {
            let changed = try ReadmeReport.update(readme: URL(fileURLWithPath: readmeFile), resultsDir: resultsURL)
            ProgressReporter.writeToStandardError(changed ? "updated \(readmeFile)\n" : "\(readmeFile) already up to date\n")
        }
        var written: [URL] = []
        for model in try store.models() {
            let runs = try store.runs(model: model)
            guard runs.contains("baseline"), runs.contains("routed") else { continue }
            let comparison = try Comparison.load(resultsDir: resultsURL, model: model)
            let files = try comparison.write(reportsDir: reportsDir)
            written += [files.markdown, files.csv]
            written += try Plots.write(comparison, reportsDir: reportsDir)
        }
        if !written.isEmpty { ProgressReporter.writeToStandardError("wrote \(written.map(\.path).joined(separator: ", "))\n") }
    }
}

struct PerfRouted: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf-routed",
        abstract: "Wall time of routed vs baseline on the same documents, layers saved, and the routers' share of the time (Markdown + JSON in reports/).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Comma-separated benchmark names (see `bench tasks`); suites allowed too.")
    var tasks: String = "arc_easy,arc_challenge,dart_1"
    @Option(help: "RouterSet file (default: the model's, from `bench models`).") var router: String?
    @Option(help: "First N documents of each task.") var limit: Int = 40
    @Option(help: "Repetitions of each configuration (the median is reported).") var repetitions: Int = 3
    @Option(help: "Reports folder (writes <model>/routing-speed.md and .json).") var reports: String = "reports"

    func validate() throws {
        guard limit >= 1, repetitions >= 1 else { throw ValidationError("--limit and --repetitions must be at least 1") }
    }

    func run() throws {
        let model = try modelOptions.resolve()
        let (markdown, files) = try RoutingSpeed.run(
            model: model, threads: modelOptions.threads, tasks: try BenchmarkRegistry.resolve(tasks), routerFile: router,
            limit: limit, repetitions: repetitions, chatTemplate: try modelOptions.template(of: model),
            reportsFolder: URL(fileURLWithPath: reports), progress: ProgressReporter.writeToStandardError)
        print(markdown, terminator: "")
        ProgressReporter.writeToStandardError("wrote \(files.map(\.path).joined(separator: ", "))\n")
    }
}

/// The reports folder: `--reports` when given, else `reports` beside the results folder (so a
/// scratch comparison never overwrites the repository's committed reports).
func reportsFolder(_ reports: String?, results: String) -> URL {
    if let reports { return URL(fileURLWithPath: reports) }
    return URL(fileURLWithPath: results).standardizedFileURL.deletingLastPathComponent().appendingPathComponent("reports", isDirectory: true)
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Gather the shards of split runs (<results>/shards/I-of-N/) into the run folders, or of a split MCTS search (--mcts FILE).",
        discussion: "Refuses, changing nothing, when a shard is missing, shards ran different configurations, or a document is missing or in two shards.")
    @Option(help: "Results folder holding shards/.") var results: String = "results"
    @Option(help: "Only this model.") var model: String?
    @Option(name: .customLong("run"), help: "Only this run.") var runName: String?
    @Option(help: "Merge the shard files of this MCTS output (FILE.shard-I-of-N.jsonl) into FILE instead.") var mcts: String?

    func run() throws {
        if let mcts {
            let count = try SupervisionShards.merge(output: mcts)
            ProgressReporter.writeToStandardError("merged \(count) MCTS records into \(mcts)\n")
            return
        }
        let merged = try ShardMerge.merge(results: URL(fileURLWithPath: results), model: model, run: runName)
        for task in merged {
            ProgressReporter.writeToStandardError("merged \(task.model)/\(task.run)/\(task.task): \(task.documents) documents from \(task.shards) shards\n")
        }
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one run's results in another harness's format: lm-eval's results_<timestamp>.json and samples_<task>_<timestamp>.jsonl.")
    @Option(help: "Format: \(RunExportFormat.all.map(\.formatName).joined(separator: ", ")).") var format: String = "lm-eval"
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .customLong("run"), help: "Run to export.") var runName: String = "baseline"
    @Option(help: "Comma-separated tasks (default: every task of the run).") var tasks: String?
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Output folder (default: reports/<model>/<format>/<run>).") var out: String?
    @Option(help: "Timestamp in the file names (default: now, UTC, as lm-eval writes it: 2026-12-05T10-00-00.000000).")
    var timestamp: String?

    func validate() throws {
        guard RunExportFormat.named(format) != nil else {
            throw ValidationError("unknown --format '\(format)': expected \(RunExportFormat.all.map(\.formatName).joined(separator: " or "))")
        }
        if let timestamp, timestamp.isEmpty || timestamp.contains("/") || timestamp.contains("_") {
            throw ValidationError("--timestamp must be non-empty, without '/' or '_' (lm-eval splits file names at '_')")
        }
    }

    func run() throws {
        // A served model's results may sit under a name the registry does not know; its prompts
        // are rebuilt without a chat template, and a task that used one is refused by the workflow.
        let locator = ModelLocator()
        let resolved = try? modelOptions.resolve()
        let model = try resolved?.name ?? modelOptions.model ?? locator.registry().defaultModel
        let request = ExportWorkflow.Request(
            resultsDirectory: URL(fileURLWithPath: results), model: model, run: runName,
            tasks: try tasks.map { try BenchmarkRegistry.resolve($0) },
            outputDirectory: URL(fileURLWithPath: out ?? "reports/\(model)/\(format)/\(runName)"),
            exporter: RunExportFormat.named(format)!, timestamp: timestamp ?? ExportWorkflow.timestamp(Date()),
            chatTemplate: try resolved.map { try modelOptions.template(of: $0) })
        let files = try ExportWorkflow.run(request)
        for file in files { print(file.path) }
    }
}
