import Benchmarks
import Engine
import Foundation
import Routing
import Runs
import Support

/// Why a path-search or router-training request was refused.
public enum SupervisionError: LocalizedError, Equatable {
    case invalidMix(reason: String)
    case noKeptExamples(file: String)
    case missingRecords(file: String)
    case unknownDocument(file: String, task: String, id: String)
    case missingRunTask(run: String, task: String)
    case nothingToControl

    public var errorDescription: String? {
        switch self {
        case let .unknownDocument(file, task, id):
            return "\(file): record \(task)/\(id) names no training document of \(task) (records of another data version?)"
        case let .missingRunTask(run, task):
            return "run '\(run)' has no results for \(task) (run `bench run --tasks \(task)` for it first)"
        case .nothingToControl:
            return "no document searched by the oracle has been scored by every run: nothing to compare"
        case let .invalidMix(reason): return "--mix: \(reason)"
        case let .missingRecords(file): return "--records: \(file) does not exist (run `bench mcts` first)"
        case let .noKeptExamples(file): return "\(file): no kept examples (no MCTS record found a correct path): nothing to train on"
        }
    }
}

/// One training task of the MCTS data mix and how many of its training examples to search.
public struct SupervisionSource: Codable, Sendable, Equatable {
    /// A registry name whose training split the search reads: `arc_easy`, `arc_challenge` (lm-eval
    /// cloze form, multiple-choice reward), `arc_easy_letter`, `arc_challenge_letter` (the paper's
    /// letter form) or `dart_1`…`dart_5`.
    public var task: String
    /// Number of training examples to search (drawn with the seed, without replacement).
    public var count: Int

    public init(task: String, count: Int) {
        self.task = task
        self.count = count
    }

    /// The paper's mix (kept examples): ARC-E 400, ARC-C 600, DART 1–5 200/400/600/800/1000,
    /// scaled so the counts sum to about `total`. `arcSuffix` picks the ARC prompt: the paper's
    /// letter form (`_letter`) or lm-eval's cloze form (empty suffix).
    public static func paperMix(total: Int, arcSuffix: String = "_letter") -> [SupervisionSource] {
        let paper: [(String, Int)] = [("arc_easy" + arcSuffix, 400), ("arc_challenge" + arcSuffix, 600), ("dart_1", 200),
                                      ("dart_2", 400), ("dart_3", 600), ("dart_4", 800), ("dart_5", 1000)]
        return paper.map { SupervisionSource(task: $0.0, count: max(1, Int((Double($0.1) * Double(total) / 4000).rounded()))) }
    }

    /// Parses `task:count,task:count`.
    public static func parse(_ text: String) throws -> [SupervisionSource] {
        try text.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            guard parts.count == 2, let n = Int(parts[1]), n > 0 else {
                throw SupervisionError.invalidMix(reason: "'\(item)' is not TASK:COUNT with a positive count")
            }
            let task = String(parts[0])
            guard BenchmarkRegistry.searchableNames.contains(task) else {
                throw SupervisionError.invalidMix(reason: "'\(task)' has no training split for path search (use "
                    + BenchmarkRegistry.searchableNames.joined(separator: ", ") + ")")
            }
            return SupervisionSource(task: task, count: n)
        }
    }
}

/// One searched training example, one JSON line of `bench mcts` output.
public struct SupervisionRecord: Codable, Sendable, Equatable {
    public var task: String
    public var id: String
    /// The prompt as the model saw it (chat template applied), needed again for teacher forcing.
    public var prompt: String
    public var promptTokens: Int
    public var defaultCorrect: Bool
    public var kept: Bool
    public var improved: Bool
    /// The shortest correct path found (nil when no path was correct).
    public var bestPath: [Int]?
    /// Per-block multiplicity in `bestPath` (0 skip, 1 execute, 2 repeat).
    public var labels: [Int]?
    public var layersSaved: Int?
    /// Distinct paths evaluated, simulations run, early stop.
    public var pathsEvaluated: Int
    public var simulations: Int
    public var stoppedEarly: Bool
    /// Prompt block applications computed vs reused from shared path prefixes.
    public var blocksComputed: Int
    public var blocksReused: Int
    public var seconds: Double

    public init(task: String, id: String, prompt: String, promptTokens: Int, defaultCorrect: Bool, kept: Bool, improved: Bool,
                bestPath: [Int]?, labels: [Int]?, layersSaved: Int?, pathsEvaluated: Int, simulations: Int, stoppedEarly: Bool,
                blocksComputed: Int, blocksReused: Int, seconds: Double) {
        self.task = task
        self.id = id
        self.prompt = prompt
        self.promptTokens = promptTokens
        self.defaultCorrect = defaultCorrect
        self.kept = kept
        self.improved = improved
        self.bestPath = bestPath
        self.labels = labels
        self.layersSaved = layersSaved
        self.pathsEvaluated = pathsEvaluated
        self.simulations = simulations
        self.stoppedEarly = stoppedEarly
        self.blocksComputed = blocksComputed
        self.blocksReused = blocksReused
        self.seconds = seconds
    }
}

/// Which documents a search plan takes from each source.
public enum SupervisionSelection: String, Sendable, Codable {
    /// `count` training documents drawn with the seed: router supervision (`bench mcts`).
    case trainingSample
    /// The first `count` evaluation (test) documents in order, the documents `bench run --limit`
    /// scores: the oracle (`bench oracle`), which sees the answers and so bounds what routing can do.
    case firstEvaluation
}

/// Runs MCTS path search over training examples and appends one record per example (resumable).
public struct SupervisionGenerator {
    public var model: TransformerModel
    public var tasksDirectory: URL
    public var sources: [SupervisionSource]
    public var config: MCTSConfig
    public var seed: UInt64
    public var chatTemplate: any ChatTemplate
    public var selection: SupervisionSelection

    public init(model: TransformerModel, tasksDirectory: URL, sources: [SupervisionSource], config: MCTSConfig,
                seed: UInt64, chatTemplate: any ChatTemplate, selection: SupervisionSelection = .trainingSample) {
        self.model = model
        self.tasksDirectory = tasksDirectory
        self.sources = sources
        self.config = config
        self.seed = seed
        self.chatTemplate = chatTemplate
        self.selection = selection
    }

    /// The examples to search, in a deterministic order. For a training sample: each source's
    /// training documents shuffled with a seed derived from `seed` and the task, first `count`
    /// taken; for the first evaluation documents: each source's first `count` in document order.
    public func plan() throws -> [(task: String, benchmark: LoadedBenchmark, index: Int)] {
        var out: [(String, LoadedBenchmark, Int)] = []
        for source in sources {
            let split: DocumentSplit = selection == .trainingSample ? .training : .evaluation
            let loaded = try BenchmarkRegistry.load(source.task, from: tasksDirectory,
                                                    options: BenchmarkOptions(chatTemplate: chatTemplate, split: split))
            var order = Array(loaded.documents.indices)
            if selection == .trainingSample {
                var rng = SplitMix64(seed: SplitMix64.derive(seed, "mcts-sample/\(source.task)"))
                // Our own generator, so the sample never depends on the platform; the biased variant
                // because the committed supervision files were sampled with it.
                rng.moduloBiasedShuffle(&order)
            }
            for index in order.prefix(source.count) { out.append((source.task, loaded, index)) }
        }
        return out
    }

    /// Searches every planned example not yet in `output` and appends their records in plan order.
    /// Returns all records (old and new) in plan order. `started` learns, before any search, how
    /// many planned examples `output` already holds and how many are planned; `progress` gets each
    /// new record.
    ///
    /// Up to `concurrency` examples are searched together: each round, every search in progress
    /// asks for one path to be judged and those paths are evaluated in one batch
    /// (`PathSearchSession.generate(_:)` / `score(_:)`), which gives each the numbers it would get
    /// alone; a finished search makes room for the next example. Each search depends only on its
    /// example and the seed, and records are written in plan order, so the file is the same for
    /// every `concurrency` (`seconds` aside: a record's time is its search's wall time, shared
    /// with its batch-mates). An interruption loses at most the searches in progress and those
    /// finished after the earliest of them.
    public func run(output: URL, shard: Shard? = nil, concurrency: Int = 1,
                    started: ((_ alreadySearched: Int, _ planned: Int) -> Void)? = nil,
                    progress: ((SupervisionRecord) -> Void)? = nil) throws -> [SupervisionRecord] {
        // A shard searches the plan positions it owns (each search depends only on its example and
        // the seed, so the shards' records interleave to the one-process file).
        let planned = try shard.map { $0.select(try plan()) } ?? plan()
        func key(_ item: (task: String, benchmark: LoadedBenchmark, index: Int)) -> String {
            "\(item.task)/\(item.benchmark.documents[item.index].id)"
        }
        try FileOperations.ensureWritableFolder(output.deletingLastPathComponent())
        // The same durable, locked log as run records: a second search on the file is refused,
        // and a line torn by a kill is dropped before the first append.
        let writer: JSONLinesLog
        var byKey: [String: SupervisionRecord] = [:]
        do {
            writer = try JSONLinesLog(file: output)
            for r in try writer.read(as: SupervisionRecord.self, id: Self.recordKey) { byKey[Self.recordKey(r)] = r }
            try writer.dropTornTail()
        } catch { throw RunError(error) }
        defer { writer.close() }
        started?(planned.filter { byKey[key($0)] != nil }.count, planned.count)

        let todo = planned.filter { byKey[key($0)] == nil }
        var admitted = 0, written = 0
        var active: [ExampleSearch] = []
        var finished: [Int: SupervisionRecord] = [:]
        let search = MCTSSearch(layerCount: model.layerCount, config: config)
        while written < todo.count {
            while active.count < max(1, concurrency), admitted < todo.count {
                let item = todo[admitted]
                active.append(try ExampleSearch(order: admitted, task: item.task, benchmark: item.benchmark, index: item.index,
                                                model: model, search: search,
                                                seed: SplitMix64.derive(seed, "mcts/\(key(item))")))
                admitted += 1
            }
            try ExampleSearch.judgeTogether(active)
            for s in active {
                if case let .finished(outcome) = s.state.step { finished[s.order] = s.record(outcome) }
            }
            active.removeAll { if case .finished = $0.state.step { return true } else { return false } }
            while let record = finished.removeValue(forKey: written) {
                do { try writer.append(record) } catch { throw RunError(error) }
                byKey[Self.recordKey(record)] = record
                written += 1
                progress?(record)
            }
        }
        return planned.compactMap { byKey[key($0)] }
    }

    /// The key of a record: its task and document id.
    static func recordKey(_ record: SupervisionRecord) -> String { "\(record.task)/\(record.id)" }

    /// Records already in `url` (a torn last line from an interrupted run is ignored), parsed
    /// like run records: a corrupt complete line or a repeated example is an error.
    public static func readRecords(_ url: URL) throws -> [SupervisionRecord] {
        guard let data = try FileOperations.readIfExists(url) else { return [] }
        do { return try JSONLinesLog.parse(data, file: url.path, as: SupervisionRecord.self, id: recordKey).records } catch {
            throw RunError(error)
        }
    }
}

/// What judges candidate layer paths for one document: its reward session and its scorer.
///
/// Generative reward (the paper's letter ARC and DART: the greedy answer along the path) or
/// multiple-choice reward (lm-eval's cloze ARC: the highest-likelihood choice is gold); either
/// way hidden states of shared path prefixes are reused across the paths judged.
final class DocumentJudge {
    let task: String
    let benchmark: LoadedBenchmark
    let index: Int
    /// The prompt as the model sees it and its token count.
    let prompt: String
    let promptTokens: Int
    let session: PathSearchSession
    let generative: Bool

    init(task: String, benchmark: LoadedBenchmark, index: Int, model: TransformerModel) throws {
        self.task = task
        self.benchmark = benchmark
        self.index = index
        switch try benchmark.request(at: index) {
        case let .generation(request):
            session = try PathSearchSession(model: model, request: request)
            prompt = request.context
            generative = true
        case let .loglikelihood(requests):
            session = try PathSearchSession(model: model, scoring: requests)
            prompt = requests[0].context
            generative = false
        case .generationWithLoglikelihood:
            throw SupervisionError.invalidMix(reason: "\(task) mixes generation and scoring; not a path-search task")
        }
        // The prompt's own encoding (for scoring, lm-eval's pair encoding may move a trailing space).
        promptTokens = generative ? session.promptIds.count : model.encode(prompt).count
    }

    /// The document's id.
    var id: String { benchmark.documents[index].id }

    /// Whether each path makes the document correct (`acc` = 1), all judged in one batch per
    /// reward kind. A judge may appear at most once per call.
    static func judge(_ items: [(DocumentJudge, LayerPath)]) throws -> [Bool] {
        var verdicts = [Bool](repeating: false, count: items.count)
        let generative = items.indices.filter { items[$0].0.generative }
        let scored = items.indices.filter { !items[$0].0.generative }
        if !generative.isEmpty {
            let results = try PathSearchSession.generate(generative.map { (items[$0].0.session, items[$0].1) })
            for (i, g) in zip(generative, results) {
                let judge = items[i].0
                let score = try judge.benchmark.score(at: judge.index, response: BenchmarkResponse(generatedText: g.text))
                verdicts[i] = score.metrics["acc,none"] == 1
            }
        }
        if !scored.isEmpty {
            let results = try PathSearchSession.score(scored.map { (items[$0].0.session, items[$0].1) })
            for (i, r) in zip(scored, results) {
                let judge = items[i].0
                let score = try judge.benchmark.score(at: judge.index, response: BenchmarkResponse(loglikelihoodResults: r))
                verdicts[i] = score.metrics["acc,none"] == 1
            }
        }
        return verdicts
    }
}

/// One example's path search in progress, with what judges its paths.
final class ExampleSearch {
    /// Position among the examples this run searches (records are written in this order).
    let order: Int
    let judge: DocumentJudge
    var state: MCTSSearchState
    let startTime: Double

    init(order: Int, task: String, benchmark: LoadedBenchmark, index: Int, model: TransformerModel,
         search: MCTSSearch, seed: UInt64) throws {
        self.order = order
        startTime = MonotonicClock.seconds()
        judge = try DocumentJudge(task: task, benchmark: benchmark, index: index, model: model)
        state = try search.start(seed: seed)
    }

    /// Judges the path each unfinished search asks for, all in one batch, and resumes the
    /// searches with their verdicts.
    static func judgeTogether(_ searches: [ExampleSearch]) throws {
        var asking: [(ExampleSearch, LayerPath)] = []
        for s in searches {
            if case let .evaluate(path) = s.state.step { asking.append((s, path)) }
        }
        let verdicts = try DocumentJudge.judge(asking.map { ($0.0.judge, $0.1) })
        for ((s, _), verdict) in zip(asking, verdicts) { s.state.resume(verdict: verdict) }
    }

    /// The search's record.
    func record(_ outcome: MCTSOutcome) -> SupervisionRecord {
        SupervisionRecord(
            task: judge.task, id: judge.id, prompt: judge.prompt, promptTokens: judge.promptTokens,
            defaultCorrect: outcome.defaultCorrect, kept: outcome.kept, improved: outcome.improved,
            bestPath: outcome.bestPath?.blocks, labels: outcome.labels, layersSaved: outcome.layersSaved,
            pathsEvaluated: outcome.evaluations, simulations: outcome.simulations, stoppedEarly: outcome.stoppedEarly,
            blocksComputed: judge.session.blockApplicationsComputed, blocksReused: judge.session.blockApplicationsReused,
            seconds: MonotonicClock.seconds() - startTime)
    }
}

/// Records the pooled hidden states entering each block while following a label path: the
/// teacher-forced router inputs (docs/METHOD.md §3).
final class TeacherForcingRecorder: PathDecider, @unchecked Sendable {
    let labels: [Int]
    let maxWindows: Int
    private(set) var pooled: [[Float]] = []
    private(set) var windowCount = 0

    init(labels: [Int], maxWindows: Int) {
        self.labels = labels
        self.maxWindows = maxWindows
    }

    func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
        pooled.append(WindowPooling.pool(hidden: hidden, tokens: tokens, width: width, maxWindows: maxWindows))
        windowCount = WindowPooling.windowCount(tokens: tokens, maxWindows: maxWindows)
        return labels[layer]
    }
}

/// Builds router training examples from MCTS records by teacher forcing along each label path.
public enum RouterTrainingData {
    /// One example per kept record, in record order.
    public static func build(records: [SupervisionRecord], model: TransformerModel, windows: Int,
                             progress: ((Int, Int) -> Void)? = nil) throws -> [RouterTrainingExample] {
        let kept = records.filter { $0.kept && $0.labels != nil }
        var out: [RouterTrainingExample] = []
        for (i, r) in kept.enumerated() {
            let recorder = TeacherForcingRecorder(labels: r.labels!, maxWindows: windows)
            let path = try model.prefill(r.prompt, policy: .decided(recorder))
            precondition(path == LayerPath.fromMultiplicities(r.labels!), "teacher forcing must follow the label path")
            out.append(RouterTrainingExample(id: "\(r.task)/\(r.id)", layers: recorder.pooled, windowCount: recorder.windowCount,
                                             width: model.configuration.width, labels: r.labels!, tokens: r.promptTokens))
            progress?(i + 1, kept.count)
        }
        return out
    }
}
