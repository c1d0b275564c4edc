import ArgumentParser
import Benchmarks
import Engine
import Foundation
import Harness
import Routing

/// Which configurations `bench run` runs.
enum RunConfigChoice: String, ExpressibleByArgument, CaseIterable {
    case baseline, routed, both
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run benchmarks as `baseline` and `routed` (or a fixed --path) and store every example's record (resumable).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "Suite: indomain, ood or all.") var suite: String?
    @Option(help: "Comma-separated benchmark names (see `bench tasks`); suites allowed too.") var tasks: String?
    @Option(help: "baseline, routed or both (one after the other).") var config: RunConfigChoice = .both
    @Option(help: "RouterSet file for the routed configuration.") var router: String = "routers/smollm2-135m-instruct.routers"
    @Option(help: "A fixed layer path (comma-separated block indices) run as a third kind of configuration.") var path: String?
    @Option(help: "Run name: required for --path; for the routed run it replaces `routed` (required with --router-blend).") var name: String?
    @Option(name: .customLong("router-blend"),
            help: "The paper's control knob: blend router probabilities with a one-hot on a class before the argmax, ALPHA or CLASS:ALPHA (default class execute: more ALPHA, fewer layers saved; ALPHA > 0.5 is the baseline). Needs --name.")
    var routerBlend: String?
    @Option(help: "First N documents of each task (of each subtask for groups).") var limit: Int?
    @Option(help: "Few-shot examples (where lm-eval lets the count change).") var fewshot: Int?
    @Option(help: "Few-shot sampling seed (lm-eval's fewshot_random_seed).") var seed: UInt64 = 1234
    @Option(help: "Results folder.") var results: String = "results"
    @Option(name: .customLong("max-gen-tokens"), help: "Cap on generated tokens for generative tasks (AIME's lm-eval default of 32768 exceeds the context).")
    var maxGenTokens: Int?
    @Option(help: "Chat template for the paper's in-domain prompt forms (letter ARC, DART).") var chat: ChatTemplateChoice = .chatml
    @Flag(help: "Delete existing results of each task and start over.") var force = false

    func validate() throws {
        if suite == nil && tasks == nil { throw ValidationError("give --suite indomain|ood|all or --tasks a,b,…") }
        if let suite, BenchmarkSuite(rawValue: suite) == nil {
            throw ValidationError("unknown suite '\(suite)': expected indomain, ood or all")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if path != nil && name == nil { throw ValidationError("--path needs --name (the run's folder name)") }
        if name != nil && path == nil && config == .baseline {
            throw ValidationError("--name names the routed or --path run; the --config baseline run is always 'baseline'")
        }
        if let maxGenTokens, maxGenTokens < 1 { throw ValidationError("--max-gen-tokens must be at least 1") }
        if let routerBlend {
            do { _ = try RouterBlend(parsing: routerBlend) } catch { throw ValidationError(error.localizedDescription) }
            if path != nil { throw ValidationError("--router-blend applies to routed runs, not to a fixed --path") }
            if config != .routed { throw ValidationError("--router-blend needs --config routed (the baseline has no routers)") }
            if name == nil { throw ValidationError("--router-blend needs --name (so its results do not mix with the plain routed run)") }
        }
    }

    func run() throws {
        let names = try BenchmarkRegistry.resolve([suite, tasks].compactMap { $0 }.joined(separator: ","))
        let store = ResultsStore(root: URL(fileURLWithPath: results))
        try store.prepare()
        let (modelName, modelPath) = try ModelLocator().resolve(modelOptions.model)

        // Everything that can be refused is checked before the model loads and before any run.
        var routers: (RouterSet, String)?
        if path == nil && config != .baseline {
            var set = try loadRouterSet(router, hint: "train one with `bench train-router`, or run --config baseline")
            set.blend = try routerBlend.map { text throws(RoutingError) in try RouterBlend(parsing: text) }
            routers = (set, try FileDigest.sha256(path: router))
        }
        let tasksDir = try TasksDirectory.locate()
        let options = BenchmarkOptions(fewshot: fewshot, fewshotSeed: Int(seed), chatTemplate: chat.template,
                                       maxGenerationTokens: maxGenTokens)
        let benchmarks = try names.map { try BenchmarkRegistry.load($0, from: tasksDir, options: options) }

        let model = try modelOptions.load()
        var policies: [RunPolicy] = []
        if let path {
            guard case let .fixed(p) = try parsePath(path, layerCount: model.layerCount) else { return }
            policies = [.fixed(p, name: name!)]
        } else {
            if config != .routed { policies.append(.baseline()) }
            if let (set, sha) = routers {
                try set.validate(layerCount: model.layerCount, width: model.configuration.width)
                policies.append(.routed(set, sha256: sha, file: router, name: name ?? "routed"))
            }
        }
        let settings = RunSettings(modelName: modelName, modelSHA256: try FileDigest.sha256(path: modelPath),
                                   benchVersion: BenchVersion.string, limit: limit, fewshotRequested: fewshot,
                                   seed: seed, chatTemplate: chat == .chatml, force: force,
                                   extraSettings: maxGenTokens.map { ["max_gen_tokens": String($0)] } ?? [:])
        let flag = InterruptFlag()
        flag.installSignalHandler()
        let runner = SuiteRunner(model: model, store: store, settings: settings, shouldStop: { flag.isRaised })
        do {
            let summaries = try runner.run(benchmarks, policies: policies)
            print(ScoreTable.markdown(summaries), terminator: "")
        } catch let error as RunError {
            if case .interrupted = error {
                ProgressReporter.writeToStandardError("\(error.localizedDescription)\nrerun the same command to resume.\n")
                throw ExitCode(130)
            }
            throw error
        }
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare two runs per task: scores, Δ with a paired-bootstrap 95% CI, layers and time; writes reports/.")
    @Option(name: .customLong("model"), help: "Model name (the folder under results/).") var model: String = ModelLocator.defaultModel
    @Argument(help: "First run (reference).") var runA: String = "baseline"
    @Argument(help: "Second run.") var runB: String = "routed"
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Reports folder.") var reports: String = "reports"
    @Option(help: "Bootstrap resamples.") var resamples: Int = 10_000

    func validate() throws {
        guard resamples >= 1000 else { throw ValidationError("--resamples must be at least 1000") }
    }

    func run() throws {
        let comparison = try Comparison.load(resultsDir: URL(fileURLWithPath: results), model: model,
                                             runA: runA, runB: runB, resamples: resamples)
        print(comparison.markdown(), terminator: "")
        let files = try comparison.write(reportsDir: URL(fileURLWithPath: reports))
        let plots = try Plots.write(comparison, reportsDir: URL(fileURLWithPath: reports))
        ProgressReporter.writeToStandardError("wrote \(([files.markdown, files.csv] + plots).map(\.path).joined(separator: ", "))\n")
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate README's results tables (between the bench:results markers) and the SVG plots from results/.")
    @Flag(help: "Rewrite the README's results block.") var readme = false
    @Option(name: .customLong("readme-file"), help: "README to update.") var readmeFile: String = "README.md"
    @Option(help: "Results folder.") var results: String = "results"
    @Option(help: "Reports folder.") var reports: String = "reports"

    func run() throws {
        let resultsURL = URL(fileURLWithPath: results)
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
            let files = try comparison.write(reportsDir: URL(fileURLWithPath: reports))
            written += [files.markdown, files.csv]
            written += try Plots.write(comparison, reportsDir: URL(fileURLWithPath: reports))
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
    @Option(help: "RouterSet file.") var router: String = "routers/smollm2-135m-instruct.routers"
    @Option(help: "First N documents of each task.") var limit: Int = 40
    @Option(help: "Repetitions of each configuration (the median is reported).") var repetitions: Int = 3
    @Option(help: "Chat template for the paper's in-domain prompt forms (letter ARC, DART).") var chat: ChatTemplateChoice = .chatml
    @Option(help: "Reports folder (writes <model>/routing-speed.md and .json).") var reports: String = "reports"

    func validate() throws {
        guard limit >= 1, repetitions >= 1 else { throw ValidationError("--limit and --repetitions must be at least 1") }
    }

    func run() throws {
        let names = try BenchmarkRegistry.resolve(tasks)
        let routers = try loadRouterSet(router, hint: "train one with `bench train-router`")
        let tasksDir = try TasksDirectory.locate()
        let options = BenchmarkOptions(chatTemplate: chat.template)
        let benchmarks = try names.map { try BenchmarkRegistry.load($0, from: tasksDir, options: options) }
        let model = try modelOptions.load()
        try routers.validate(layerCount: model.layerCount, width: model.configuration.width)

        var results: [RoutingSpeed.TaskResult] = []
        for benchmark in benchmarks {
            ProgressReporter.writeToStandardError("\(benchmark.name): \(repetitions) × baseline and routed …\n")
            let indices = benchmark.indices(limit: limit)
            results.append(try RoutingSpeed.measure(model: model, benchmark: benchmark, indices: indices,
                                                    routers: routers, repetitions: repetitions))
        }
        let speed = RoutingSpeed(model: model.name, routerFile: router, threads: model.threads, tasks: results)
        let command = "bench perf-routed --tasks \(tasks) --limit \(limit) --repetitions \(repetitions) --threads \(model.threads) --router \(router)"
        let markdown = speed.markdown(command: command)
        print(markdown, terminator: "")
        let folder = URL(fileURLWithPath: reports).appendingPathComponent(model.name, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let markdownFile = folder.appendingPathComponent("routing-speed.md")
        let jsonFile = folder.appendingPathComponent("routing-speed.json")
        try Data(markdown.utf8).write(to: markdownFile, options: .atomic)
        try jsonData(speed).write(to: jsonFile, options: .atomic)
        ProgressReporter.writeToStandardError("wrote \(markdownFile.path), \(jsonFile.path)\n")
    }
}
