import Engine
import Foundation
import Support

/// The suites a benchmark can belong to; `all` is the union of the other two.
public enum BenchmarkSuite: String, CaseIterable, Sendable, Codable {
    /// Dr.LLM's in-domain tasks: ARC-Easy, ARC-Challenge, DART levels 1–5.
    case indomain
    /// The out-of-domain lm-eval tasks of the paper's Table 4.
    case ood
    /// Both.
    case all
}

/// Which part of a benchmark's data to load.
public enum DocumentSplit: String, Sendable, Codable {
    /// The split lm-eval (or the paper) evaluates on.
    case evaluation
    /// The training split, used by MCTS path search for router supervision (ARC, DART only).
    case training
}

/// What a benchmark asks of the model for one document.
public enum RequestKind: String, Sendable, Codable {
    /// Log-likelihoods of continuations (lm-eval `multiple_choice`).
    case loglikelihood
    /// Greedy generation with stop strings and a token cap (lm-eval `generate_until`).
    case generation = "generate_until"
    /// Both: SQuAD v2 generates an answer and scores `" unanswerable"`.
    case generationWithLoglikelihood = "generate_until+loglikelihood"
    /// A group whose subtasks differ (`agieval_en`: nine multiple-choice subsets and a generative one).
    case mixed = "loglikelihood|generate_until"
}

/// Stop strings and token cap of a generative benchmark (the engine also stops at its EOS token).
public struct GenerationSettings: Sendable, Hashable, Codable {
    public var until: [String]
    public var maxTokens: Int
    public init(until: [String], maxTokens: Int) {
        self.until = until
        self.maxTokens = maxTokens
    }
}

/// The model calls one document needs.
public enum BenchmarkRequest: Sendable, Hashable {
    /// Score each continuation; all share one context (the choices of a question).
    case loglikelihood([LoglikelihoodRequest])
    /// Generate greedily.
    case generation(GenerationRequest)
    /// Generate, and also score these continuations (SQuAD v2).
    case generationWithLoglikelihood(GenerationRequest, [LoglikelihoodRequest])

    /// The loglikelihood requests, in the order `BenchmarkResponse.logLikelihoods` must follow.
    public var loglikelihoodRequests: [LoglikelihoodRequest] {
        switch self {
        case .loglikelihood(let requests), .generationWithLoglikelihood(_, let requests): return requests
        case .generation: return []
        }
    }

    /// The generation request, if any.
    public var generationRequest: GenerationRequest? {
        switch self {
        case .generation(let request), .generationWithLoglikelihood(let request, _): return request
        case .loglikelihood: return nil
        }
    }
}

/// The model's answers to one document's `BenchmarkRequest`.
public struct BenchmarkResponse: Sendable, Hashable, Codable {
    /// Summed log-likelihood per loglikelihood request, in request order.
    public var logLikelihoods: [Double]
    /// Whether each continuation was the greedy decode (same order; may be empty if unknown).
    public var isGreedy: [Bool]
    /// The generated text, cut at the first stop string (nil for pure loglikelihood requests).
    public var generatedText: String?

    public init(logLikelihoods: [Double] = [], isGreedy: [Bool] = [], generatedText: String? = nil) {
        self.logLikelihoods = logLikelihoods
        self.isGreedy = isGreedy
        self.generatedText = generatedText
    }

    /// Collects the engine's results for one document.
    public init(loglikelihoodResults: [LoglikelihoodResult], generationResult: GenerationResult? = nil) {
        self.init(logLikelihoods: loglikelihoodResults.map(\.logLikelihood),
                  isGreedy: loglikelihoodResults.map(\.isGreedy),
                  generatedText: generationResult?.text)
    }
}

/// One document's metric values and what the model answered, as stored in a run's records.
public struct ExampleScore: Sendable, Hashable, Codable {
    /// The document's stable id (e.g. an ARC id, `mmlu_anatomy/12`).
    public var id: String
    /// The subtask the document belongs to (`mmlu_anatomy`, `agieval_lsat_ar`), if any.
    public var subtask: String?
    /// Metric values keyed like lm-eval's results, `"<metric>,<filter>"` (e.g. `acc,none`,
    /// `exact_match,strict-match`). SQuAD v2 also keeps the inputs its aggregation needs.
    public var metrics: [String: Double]
    /// What the model answered: the chosen continuation, or the extracted answer of a generation.
    public var prediction: String
    /// The gold answer in the same form.
    public var target: String

    public init(id: String, subtask: String?, metrics: [String: Double], prediction: String, target: String) {
        self.id = id
        self.subtask = subtask
        self.metrics = metrics
        self.prediction = prediction
        self.target = target
    }
}

/// One aggregated metric, e.g. `acc,none = 0.61 ± 0.01 over 2376`.
public struct MetricSummary: Sendable, Hashable, Codable {
    /// lm-eval's key, `"<metric>,<filter>"`.
    public var key: String
    public var value: Double
    /// Standard error (nil where lm-eval reports N/A, e.g. SQuAD v2, or fewer than two examples).
    public var standardError: Double?
    /// Number of examples aggregated.
    public var count: Int

    public init(key: String, value: Double, standardError: Double?, count: Int) {
        self.key = key
        self.value = value
        self.standardError = standardError
        self.count = count
    }
}

/// A benchmark's aggregated metrics, with the same for each group and subtask beneath it
/// (`mmlu` → `mmlu_stem` → `mmlu_anatomy`; `agieval_en` → `agieval_lsat_ar`).
public struct BenchmarkAggregate: Sendable, Hashable, Codable {
    public var name: String
    public var metrics: [MetricSummary]
    public var children: [BenchmarkAggregate]

    public init(name: String, metrics: [MetricSummary], children: [BenchmarkAggregate] = []) {
        self.name = name
        self.metrics = metrics
        self.children = children
    }

    /// The summary for `key` (e.g. `acc,none`), if present.
    public func metric(_ key: String) -> MetricSummary? { metrics.first { $0.key == key } }
}

/// What `bench tasks` shows about a benchmark, known without loading its data.
public struct BenchmarkInfo: Sendable, Hashable {
    /// Registry name, e.g. `arc_easy`.
    public var name: String
    /// Human-readable name and variant, e.g. `ARC-Easy (lm-eval cloze)`.
    public var title: String
    /// The suites it belongs to (`indomain` or `ood`; empty for extra variants).
    public var suites: [BenchmarkSuite]
    /// Number of evaluation documents.
    public var size: Int
    public var requestKind: RequestKind
    /// Reported metric keys, headline first.
    public var metrics: [String]
    /// Few-shot examples used when the user asks for none.
    public var defaultFewshot: Int
    /// True where lm-eval's config pins `num_fewshot: 0`, so `--fewshot` is ignored.
    public var fewshotIsFixed: Bool
    /// Where few-shot examples come from and how they are drawn.
    public var fewshotSource: String
    /// The data files and their origin.
    public var dataSource: String
    /// Which prompt the benchmark uses (lm-eval task or the paper's form).
    public var promptFormat: String
    /// Generation settings, for generative benchmarks.
    public var generation: GenerationSettings?
    /// Subtask names (`mmlu_<subject>`, `agieval_<subset>`), empty when there are none.
    public var subtasks: [String]
    /// True for GPQA: prompts and question text must never be printed or stored.
    public var protectsQuestionText: Bool
    /// True where prompts go through the model's chat template (the paper's letter-form ARC and
    /// DART prompts); lm-eval's tasks are plain text whatever `--chat-template` says.
    public var usesChatTemplate: Bool = false
    /// Points per unit of the headline metric: 100 for fractions, 1 where lm-eval reports the
    /// metric on a 0–100 scale already (SQuAD v2's `exact`, `f1`, `HasAns_*`, …).
    public var pointsScale: Double = 100
    /// True where MCTS path search can read a training split with this benchmark's reward
    /// (`bench mcts --mix`): ARC in both forms and DART.
    public var searchableTrainingSplit: Bool = false
}

/// A document of some benchmark: everything a record needs besides the model's answer.
public protocol BenchmarkDocument: Sendable, Hashable, Encodable {
    /// Stable id, unique within the benchmark.
    var id: String { get }
    /// The gold answer as a short string for records (for GPQA only a letter like `(B)`).
    var target: String { get }
    /// The subtask the document belongs to, if the benchmark is a group.
    var subtask: String? { get }
}

extension BenchmarkDocument {
    public var subtask: String? { nil }
}

/// Documents and the data files (with digests) they were read from.
public struct DocumentSet<Document: BenchmarkDocument>: Sendable {
    public var documents: [Document]
    public var files: [DataFileDigest]
    public init(documents: [Document], files: [DataFileDigest]) {
        self.documents = documents
        self.files = files
    }
}

/// Where a benchmark's few-shot examples come from, per subtask.
public struct FewshotPool<Document: BenchmarkDocument>: Sendable {
    /// lm-eval's samplers.
    public enum Sampler: Sendable {
        /// `random.Random(seed).sample(pool, n)` drawn afresh for each document, in document order,
        /// from one generator per (sub)task.
        case random
        /// The first `n` pool documents, in order (MMLU's `dev` split).
        case firstN
    }

    public var sampler: Sampler
    /// Pool documents keyed by subtask name (the benchmark's own name when it has no subtasks).
    public var documents: [String: [Document]]
    /// lm-eval drops the evaluated document from its own examples only when the few-shot split
    /// is the split being evaluated.
    public var excludesEvaluatedDocument: Bool
    public var files: [DataFileDigest]

    public init(sampler: Sampler, documents: [String: [Document]], excludesEvaluatedDocument: Bool, files: [DataFileDigest]) {
        self.sampler = sampler
        self.documents = documents
        self.excludesEvaluatedDocument = excludesEvaluatedDocument
        self.files = files
    }
}

/// A benchmark: turns documents into model requests and the model's responses into metric values.
///
/// Implementations are value types configured at construction (prompt form, chat template,
/// generation cap); loading reads and verifies data from a `tasks/` directory.
public protocol Benchmark: Sendable {
    associatedtype Document: BenchmarkDocument

    /// Static description (name, suites, size, metrics, few-shot default, data source).
    var info: BenchmarkInfo { get }

    /// Reads and verifies the documents of `split` from `tasksDirectory`.
    func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<Document>

    /// Reads the few-shot pool; nil when the benchmark has none.
    func loadFewshotPool(from tasksDirectory: URL) throws -> FewshotPool<Document>?

    /// The requests for one document, given its few-shot examples (already drawn).
    func requests(for document: Document, fewshot examples: [Document]) -> BenchmarkRequest

    /// Metric values for one document from the model's responses.
    func score(_ document: Document, response: BenchmarkResponse) -> ExampleScore

    /// Aggregates per-example scores: means with standard errors, size-weighted groups, or the
    /// benchmark's own aggregation (SQuAD v2).
    func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate
}

extension Benchmark {
    /// The registry name.
    public var name: String { info.name }

    public func loadFewshotPool(from tasksDirectory: URL) throws -> FewshotPool<Document>? { nil }

    /// Default aggregation: the mean and its standard error for each metric in `info.metrics`.
    public func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate {
        BenchmarkAggregate(name: info.name, metrics: MeanAggregation.summaries(of: scores, keys: info.metrics))
    }
}

/// Mean-with-stderr aggregation and lm-eval's size-weighted groups.
public enum MeanAggregation {
    /// Mean and `mean_stderr` per metric key, over the scores that have the key.
    public static func summaries(of scores: [ExampleScore], keys: [String]) -> [MetricSummary] {
        keys.compactMap { key in
            let values = scores.compactMap { $0.metrics[key] }
            guard !values.isEmpty else { return nil }
            return MetricSummary(key: key, value: Statistics.mean(values),
                                 standardError: Statistics.meanStandardError(values), count: values.count)
        }
    }

    /// A group over child aggregates with `weight_by_size: true`: the micro average of each key in
    /// `keys` and lm-eval's pooled standard error.
    public static func group(name: String, children: [BenchmarkAggregate], keys: [String]) -> BenchmarkAggregate {
        let metrics: [MetricSummary] = keys.compactMap { key in
            let parts = children.compactMap { $0.metric(key) }
            guard !parts.isEmpty else { return nil }
            let sizes = parts.map(\.count)
            let value = Statistics.microAverage(values: parts.map(\.value), sizes: sizes)
            let errors = parts.compactMap(\.standardError)
            let standardError = errors.count == parts.count && sizes.reduce(0, +) > parts.count
                ? Statistics.pooledStandardError(standardErrors: errors, sizes: sizes) : nil
            return MetricSummary(key: key, value: value, standardError: standardError, count: sizes.reduce(0, +))
        }
        return BenchmarkAggregate(name: name, metrics: metrics, children: children)
    }
}
