import Benchmarks
import Engine
import Foundation
import Routing
import Support

/// One configuration of a run: the run's name, its layer policy, and what identifies the policy
/// in the stored configuration.
public struct RunPolicy {
    /// The run folder name (`baseline`, `routed`, or `--name`).
    public var name: String
    /// What the engine receives.
    public var policy: LayerPolicy
    /// How paths are chosen.
    public var kind: PolicyKind
    /// sha256 of the router file, for `.routers`.
    public var routerSHA256: String?
    /// The router file as given (informational).
    public var routerFile: String?
    /// The fixed path, for `.fixed`.
    public var fixedPath: [Int]?
    /// Settings of this configuration alone that change the numbers (`router_blend`,
    /// `routing_input`), merged into each task's configuration `settings`.
    public var settings: [String: String]

    public init(name: String, policy: LayerPolicy, kind: PolicyKind, routerSHA256: String? = nil,
                routerFile: String? = nil, fixedPath: [Int]? = nil, settings: [String: String] = [:]) {
        self.name = name
        self.policy = policy
        self.kind = kind
        self.routerSHA256 = routerSHA256
        self.routerFile = routerFile
        self.fixedPath = fixedPath
        self.settings = settings
    }

    /// Every block once, as run `baseline`.
    public static func baseline(name: String = "baseline") -> RunPolicy {
        RunPolicy(name: name, policy: .full, kind: .full)
    }

    /// Paths decided by `routers`, as run `routed`. `sha256` is the router file's digest; the
    /// set's blend knob, when set, is recorded as setting `router_blend`, and a routing input other
    /// than the default `.context` as `routing_input`.
    public static func routed(_ routers: RouterSet, sha256: String, file: String?, name: String = "routed") -> RunPolicy {
        var settings: [String: String] = [:]
        settings["router_blend"] = routers.blend?.description
        if routers.routingInput != .context { settings["routing_input"] = routers.routingInput.rawValue }
        return RunPolicy(name: name, policy: .decided(routers), kind: .routers, routerSHA256: sha256, routerFile: file,
                         settings: settings)
    }

    /// One fixed path for every sequence (`--path`, named by `--name`).
    public static func fixed(_ path: LayerPath, name: String) -> RunPolicy {
        RunPolicy(name: name, policy: .fixed(path), kind: .fixed, fixedPath: path.blocks)
    }
}

/// Settings shared by every task of a `bench run`.
public struct RunSettings: Sendable {
    /// The model's name: the folder under `results/`.
    public var modelName: String
    /// sha256 of the model file.
    public var modelSHA256: String
    /// Version of the bench, recorded and checked on resume.
    public var benchVersion: String
    /// First N documents of each task (of each subtask for groups, as lm-eval), nil for all.
    public var limit: Int?
    /// `--fewshot` as given (the benchmark was loaded with it), nil for task defaults.
    public var fewshotRequested: Int?
    /// `--seed` (the benchmarks were loaded with it as few-shot seed).
    public var seed: UInt64
    /// Whether prompts go through the model's chat template.
    public var chatTemplate: Bool
    /// `--force`: delete existing results of each task before running it.
    public var force: Bool
    /// Documents sent to the model together (generation keeps up to 16 of them decoding at once,
    /// taking the next as one finishes; the engine guarantees a document's numbers do not depend
    /// on its batch). Also the granularity of an interruption.
    public var batchSize: Int
    /// Anything else that changes the numbers, recorded in each configuration's `settings`.
    public var extraSettings: [String: String]
    /// The shard of a split run (recorded as setting `shard`), nil for the whole run.
    public var shard: Shard?
    /// The code's version (`CodeVersion.current()`), recorded in configurations; informational.
    public var codeVersion: String?
    /// OpenBLAS's kernel family (`OpenBLASCore.name`) where the model runs here, recorded in
    /// configurations; informational.
    public var blasCore: String?

    public init(modelName: String, modelSHA256: String, benchVersion: String, limit: Int? = nil,
                fewshotRequested: Int? = nil, seed: UInt64 = 1234, chatTemplate: Bool = false, force: Bool = false,
                batchSize: Int = 16, extraSettings: [String: String] = [:]) {
        self.modelName = modelName
        self.modelSHA256 = modelSHA256
        self.benchVersion = benchVersion
        self.limit = limit
        self.fewshotRequested = fewshotRequested
        self.seed = seed
        self.chatTemplate = chatTemplate
        self.force = force
        self.batchSize = batchSize
        self.extraSettings = extraSettings
    }
}

/// Runs benchmarks on a model under a layer policy and stores the results, resumably.
///
/// For each task: open (or resume) its records, send the documents without a record to the model
/// in order and in batches, score them, append and fsync each record, then write the summary
/// computed from all records in document order. A rerun of the same command skips finished
/// documents and ends with the same records and summary as an uninterrupted run (timing aside).
public struct SuiteRunner {
    public let model: any LanguageModel
    public let store: ResultsStore
    public var settings: RunSettings
    /// Polled between batches; when it returns true the runner writes a partial summary and
    /// throws `RunError.interrupted` (the CLI sets it from SIGINT via `InterruptFlag`).
    public var shouldStop: @Sendable () -> Bool
    /// How progress is shown.
    public var progressStyle: ProgressReporter.Style
    /// Where progress text goes.
    public var progressOutput: (String) -> Void
    /// Seconds between "still running" lines while one batch takes long (not when silent).
    public var heartbeatSeconds: Double

    public init(model: any LanguageModel, store: ResultsStore, settings: RunSettings,
                shouldStop: @escaping @Sendable () -> Bool = { false },
                progressStyle: ProgressReporter.Style = .automatic,
                progressOutput: @escaping (String) -> Void = ProgressReporter.writeToStandardError,
                heartbeatSeconds: Double = 60) {
        self.model = model
        self.store = store
        self.settings = settings
        self.shouldStop = shouldStop
        self.progressStyle = progressStyle
        self.progressOutput = progressOutput
        self.heartbeatSeconds = heartbeatSeconds
    }

    /// Blocks of the model (0 for a backend that does not run blocks here).
    var layerCount: Int { (model as? any RoutableLanguageModel)?.layerCount ?? 0 }

    /// Sends a batch to the model under `policy`: any backend runs the whole model; only a
    /// routable one takes another policy.
    static func evaluate(_ model: any LanguageModel, loglikelihood scoring: [LoglikelihoodRequest],
                         generation generating: [GenerationRequest], policy: LayerPolicy, run: String)
        throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult]) {
        if let routable = model as? any RoutableLanguageModel {
            return try routable.evaluate(loglikelihood: scoring, generation: generating, policy: policy)
        }
        guard case .full = policy else { throw RunError.notRoutable(model: model.name, run: run) }
        return try model.evaluate(loglikelihood: scoring, generation: generating)
    }

    /// The configuration a task's records are stored under.
    public func configuration(for benchmark: LoadedBenchmark, policy: RunPolicy) -> RunConfiguration {
        var extra = settings.extraSettings.merging(policy.settings) { _, own in own }
        extra["prompt_format"] = benchmark.info.promptFormat
        extra["split"] = benchmark.split.rawValue
        if let shard = settings.shard { extra[ShardMerge.shardSetting] = shard.description }
        if let g = benchmark.info.generation {
            extra["generation"] = "max_tokens=\(g.maxTokens) until=\(g.until.map(\.debugDescription).joined(separator: ","))"
        }
        var configuration = RunConfiguration(benchVersion: settings.benchVersion, run: policy.name, task: benchmark.name,
                                model: settings.modelName, modelSHA256: settings.modelSHA256,
                                layerCount: layerCount, policy: policy.kind, routerSHA256: policy.routerSHA256,
                                routerFile: policy.routerFile, fixedPath: policy.fixedPath,
                                dataSHA256: benchmark.dataDigest, fewshot: benchmark.fewshotCount,
                                fewshotRequested: settings.fewshotRequested, limit: settings.limit,
                                seed: settings.seed,
                                chatTemplate: settings.chatTemplate && benchmark.info.usesChatTemplate, settings: extra)
        configuration.codeVersions = settings.codeVersion.map { [$0] }
        configuration.blasCores = settings.blasCore.map { [$0] }
        return configuration
    }

    /// Summary of a task from its records (the benchmark's aggregation, in document order).
    public static func summary(of benchmark: LoadedBenchmark, configuration: RunConfiguration,
                               records: [ExampleRecord], documents: Int) -> TaskSummary {
        let primary = benchmark.info.metrics.first ?? "acc,none"
        return TaskSummary(configuration: configuration, records: records, documents: documents,
                           primaryMetric: primary, pointsScale: benchmark.info.pointsScale,
                           aggregate: { benchmark.aggregate($0) })
    }

    /// Runs (or resumes) every task under every policy, policies outer: all tasks of the first
    /// configuration, then all of the next (`baseline` then `routed`).
    public func run(_ benchmarks: [LoadedBenchmark], policies: [RunPolicy]) throws -> [TaskSummary] {
        var out: [TaskSummary] = []
        for policy in policies {
            for benchmark in benchmarks { out.append(try run(benchmark, policy: policy, announceKernels: out.isEmpty)) }
        }
        return out
    }

    /// Runs (or resumes) one task under one policy and writes its summary.
    ///
    /// - Throws: `RunError` for store problems (changed configuration, lock, unwritable files)
    ///   and `.interrupted` when `shouldStop` fired (a partial summary is written first); engine
    ///   and benchmark errors pass through unchanged, with every finished record kept.
    /// - Parameter announceKernels: print `OpenBLASCore.forcedFamilyNotice`, if any, once the task
    ///   is open (after everything refusable was checked): a forced kernel family changes both the
    ///   speed and the last bits of the records.
    public func run(_ benchmark: LoadedBenchmark, policy: RunPolicy, announceKernels: Bool = false) throws -> TaskSummary {
        let configuration = configuration(for: benchmark, policy: policy)
        let log = try store.openTask(configuration: configuration, force: settings.force)
        defer { log.close() }
        if announceKernels, settings.blasCore != nil, let notice = OpenBLASCore.forcedFamilyNotice { progressOutput(notice + "\n") }
        let indices = settings.shard.map { $0.select(benchmark.indices(limit: settings.limit)) } ?? benchmark.indices(limit: settings.limit)
        let pending = indices.filter { !log.contains(id: benchmark.documents[$0].id) }
        var progress = ProgressReporter(label: "\(policy.name)/\(benchmark.name)", total: indices.count,
                                        alreadyDone: indices.count - pending.count, style: progressStyle,
                                        write: progressOutput)
        let journal = try openGenerationJournal(benchmark, configuration: configuration, label: "\(policy.name)/\(benchmark.name)")
        defer { (model as? any GenerationJournaling)?.generationJournal = nil }
        let batch = max(1, settings.batchSize)
        let cache = (model as? any PrefixCachingModel)?.prefixCache
        let cacheAtStart = cache?.statistics
        // The summary of the records so far, written beside them (partial until the last batch).
        func writeSummary() throws -> TaskSummary {
            let summary = Self.summary(of: benchmark, configuration: configuration, records: log.records,
                                       documents: indices.count)
            try store.writeSummary(summary)
            return summary
        }
        var start = 0
        if !pending.isEmpty, !log.records.isEmpty {
            // Resuming: the summary shows what is done (one killed before this was written has none).
            _ = try writeSummary()
        }
        while start < pending.count {
            if shouldStop() {
                progress.finish()
                let partial = try writeSummary()
                throw RunError.interrupted(task: benchmark.name, done: partial.n, total: indices.count)
            }
            let chunk = Array(pending[start..<min(pending.count, start + batch)])
            let done = indices.count - pending.count + start
            let label = "\(policy.name)/\(benchmark.name)"
            let counter = (model as? any GeneratedTokenCounting)?.generatedTokens
            let tokensBefore = counter?.value ?? 0
            let heartbeat = progressStyle == .silent ? nil : BatchHeartbeat(interval: heartbeatSeconds, message: {
                let tokens = (counter?.value ?? 0) - tokensBefore
                let generated = tokens > 0 ? ", \(tokens) tokens generated" : ""
                return "\(progressStyle == .bar ? "\n" : "")\(label): \(done)/\(indices.count) done; documents \(done + 1)–\(done + chunk.count) "
                    + "still running (\(Int($0)) s\(generated))\n"
            }, write: progressOutput)
            let records: [ExampleRecord]
            do {
                defer { heartbeat?.stop() }
                records = try evaluate(benchmark, indices: chunk, policy: policy.policy, runName: policy.name)
            }
            if let failure = journal?.writeFailure { throw failure }
            for record in records { try log.append(record) }
            progress.advance(by: chunk.count)
            start += chunk.count
            // A partial summary after every batch, so that `compare` and `report` see a run killed
            // without Ctrl-C (a job's time limit, the end of a sitting) up to its last batch.
            if start < pending.count { _ = try writeSummary() }
        }
        progress.finish()
        if let cache, let cacheAtStart, progressStyle != .silent {
            progressOutput("\(policy.name)/\(benchmark.name): \(Self.describe(cache.statistics.since(cacheAtStart)))\n")
        }
        return try writeSummary()
    }

    /// For a generation task on a model that can keep one, the task's `GenerationJournalFile`
    /// (answers an interrupted run left unfinished, resumed where they stopped), handed to the
    /// model; with `force`, an old journal is deleted with the records.
    func openGenerationJournal(_ benchmark: LoadedBenchmark, configuration: RunConfiguration,
                               label: String) throws -> GenerationJournalFile? {
        guard benchmark.info.generation != nil, let journaling = model as? any GenerationJournaling else { return nil }
        let url = store.generationJournalFile(model: configuration.model, run: configuration.run, task: configuration.task)
        if settings.force { try FileOperations.removeIfExists(url) }
        let journal = try GenerationJournalFile(url: url)
        let (answers, tokens) = journal.inFlight
        if answers > 0, progressStyle != .silent {
            progressOutput("\(label): resuming \(answers) unfinished answer\(answers == 1 ? "" : "s") from the \(tokens) "
                           + "tokens kept in \(url.lastPathComponent)\n")
        }
        journaling.generationJournal = journal
        return journal
    }

    /// One line on what the prefix cache served, e.g. "prefix cache: 14,630 of 19,020 prompt
    /// tokens (76.9%) reused by 88 of 100 prompts".
    public static func describe(_ s: PrefixCache.Statistics) -> String {
        let share = String(format: "%.1f", 100 * s.reusedShare)
        var line = "prefix cache: \(s.reusedTokens) of \(s.promptTokens) prompt tokens (\(share)%) reused by \(s.hits) of \(s.prompts) prompts"
        if s.probeRefusals > 0 { line += "; \(s.probeRefusals) shares shortened or declined by the exactness probe" }
        return line
    }

    /// Sends the documents' requests to the model together and turns the answers into records,
    /// in the order of `indices`.
    func evaluate(_ benchmark: LoadedBenchmark, indices: [Int], policy: LayerPolicy, runName: String = "") throws -> [ExampleRecord] {
        let started = MonotonicClock.seconds()
        let requests = try indices.map { try benchmark.request(at: $0) }
        let scoring = requests.flatMap(\.loglikelihoodRequests)
        let generating = requests.compactMap(\.generationRequest)
        let (scored, generated) = try Self.evaluate(model, loglikelihood: scoring, generation: generating, policy: policy,
                                                    run: runName)
        guard scored.count == scoring.count, generated.count == generating.count else {
            throw RunError.invalidBenchmarkOutput(task: benchmark.name, document: benchmark.documents[indices[0]].id,
                                                  reason: "the model answered \(scored.count)/\(scoring.count) scoring and "
                                                      + "\(generated.count)/\(generating.count) generation requests")
        }
        let secondsEach = (MonotonicClock.seconds() - started) / Double(indices.count)

        var records: [ExampleRecord] = []
        var nextScored = 0, nextGenerated = 0
        for (index, request) in zip(indices, requests) {
            let lls = Array(scored[nextScored..<nextScored + request.loglikelihoodRequests.count])
            nextScored += lls.count
            var generation: GenerationResult?
            if request.generationRequest != nil {
                generation = generated[nextGenerated]
                nextGenerated += 1
            }
            let response = BenchmarkResponse(loglikelihoodResults: lls, generationResult: generation)
            let score = try benchmark.score(at: index, response: response)
            let document = benchmark.documents[index]
            guard score.id == document.id else {
                throw RunError.invalidBenchmarkOutput(task: benchmark.name, document: document.id,
                                                      reason: "scored as '\(score.id)'; expected the document's own id")
            }
            var chosen: Int?
            if case .loglikelihood = request, let best = lls.map(\.logLikelihood).max() {
                chosen = lls.firstIndex { $0.logLikelihood == best }   // ties: the first, as numpy.argmax
            }
            let paths = lls.map(\.path) + (generation.map { [$0.path] } ?? [])
            var blocks = 0, passes = 0, tokens = 0
            for r in lls {
                blocks += r.blockApplications
                passes += r.forwardPasses
                tokens += r.contextTokens + r.continuationTokens
            }
            if let g = generation {
                blocks += g.blockApplications
                passes += g.forwardPasses
                tokens += g.promptTokens + g.generatedTokens
            }
            records.append(ExampleRecord(
                index: index, id: document.id, subtask: score.subtask ?? document.subtask, target: score.target,
                prediction: score.prediction,
                generation: benchmark.info.protectsQuestionText || generation?.text == score.prediction ? nil : generation?.text,
                chosenIndex: chosen, choiceLogLikelihoods: lls.isEmpty ? nil : lls.map(\.logLikelihood),
                metrics: score.metrics, path: PathSummary(paths: paths, layerCount: layerCount),
                blockApplications: blocks, forwardPasses: passes, tokens: tokens, seconds: secondsEach))
        }
        return records
    }
}

/// A flag set by SIGINT: the first Ctrl-C asks the runner to stop after the current batch (its
/// records are kept and the summary written); a second one exits at once, which is also safe
/// because every finished record is already on disk.
public final class InterruptFlag: @unchecked Sendable {
    // The lock makes the flag safe to set from the signal queue and read from the run loop.
    private let lock = NSLock()
    private var raised = false
    private var source: DispatchSourceSignal?

    public init() {}

    deinit {
        if let source {
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
    }

    /// Whether SIGINT arrived.
    public var isRaised: Bool {
        lock.lock()
        defer { lock.unlock() }
        return raised
    }

    /// Sets the flag (for tests, or another reason to stop).
    public func raise() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    /// Routes SIGINT to this flag until the process ends. A second SIGINT terminates the process
    /// with the default action.
    public func installSignalHandler(message: String? = "\ninterrupted: finishing the current batch; Ctrl-C again to stop now\n") {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue.global())
        source.setEventHandler { [weak self] in
            guard let self else { return }
            if self.isRaised {
                signal(SIGINT, SIG_DFL)
                kill(getpid(), SIGINT)
                return
            }
            if let message { ProgressReporter.writeToStandardError(message) }
            self.raise()
        }
        source.resume()
        self.source = source
    }
}
