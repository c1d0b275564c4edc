import Benchmarks
import Engine
import Foundation

/// The layer path one document used, with the counts the reports need.
///
/// With routers the path is decided once per sequence at prefill; the requests of one document
/// (the choices of a question) normally share it. `blocks` is the path of the document's first
/// request; should another request have used a different path, those paths are kept in
/// `otherPaths` so nothing is hidden.
public struct PathSummary: Codable, Hashable, Sendable {
    /// Block indices in execution order (absent = skipped, twice in a row = repeated).
    public var blocks: [Int]
    /// Number of blocks of the model.
    public var layerCount: Int
    /// Blocks applied zero times.
    public var skipped: Int
    /// Blocks applied twice.
    public var repeated: Int
    /// Block applications per token along `blocks` (its length).
    public var length: Int
    /// Distinct paths of the document's other requests, when they differ from `blocks`.
    public var otherPaths: [[Int]]?

    enum CodingKeys: String, CodingKey {
        case blocks, layerCount = "layer_count", skipped, repeated, length, otherPaths = "other_paths"
    }

    /// Summarises the paths of a document's requests (in request order).
    public init(paths: [LayerPath], layerCount: Int) {
        let first = paths.first?.blocks ?? []
        self.blocks = first
        self.layerCount = layerCount
        let m = LayerPath(first).multiplicities(layerCount: layerCount)
        self.skipped = m.filter { $0 == 0 }.count
        self.repeated = m.filter { $0 >= 2 }.count
        self.length = first.count
        var others: [[Int]] = []
        for p in paths.dropFirst() where p.blocks != first && !others.contains(p.blocks) {
            others.append(p.blocks)
        }
        self.otherPaths = others.isEmpty ? nil : others
    }

    /// How often each block appears in `blocks` (0 skip, 1 execute, 2 repeat).
    public var multiplicities: [Int] { LayerPath(blocks).multiplicities(layerCount: layerCount) }
}

/// One scored document of one task in one run: a line of `<task>.jsonl`.
///
/// Records hold ids, targets, predictions and numbers, never prompts or question text (GPQA's
/// licence forbids publishing its questions; the benchmark supplies ids and targets only).
/// `seconds` is the only field that varies between two runs of the same configuration.
public struct ExampleRecord: Codable, Hashable, Sendable {
    /// Position of the document in the task's document list (0-based); summaries use this order.
    public var index: Int
    /// The document's stable id within its task.
    public var id: String
    /// The subtask of a group benchmark (`mmlu_anatomy`), nil otherwise.
    public var subtask: String?
    /// The gold answer as text (the gold choice index for multiple choice, as text).
    public var target: String
    /// The extracted answer of a generation, or the chosen choice's text.
    public var prediction: String
    /// The raw generated text of generative tasks when it differs from `prediction` (nil for
    /// multiple choice, and never stored for benchmarks that protect their question text).
    public var generation: String?
    /// The index of the chosen choice (argmax log-likelihood) for multiple-choice tasks.
    public var chosenIndex: Int?
    /// Per-choice log-likelihoods for multiple-choice tasks.
    public var choiceLogLikelihoods: [Double]?
    /// Metric values of this document, keyed as lm-eval does (`acc,none`, `exact_match,strict-match`).
    public var metrics: [String: Double]
    /// The layer path(s) used.
    public var path: PathSummary
    /// Block applications over all forward passes of all requests of this document.
    public var blockApplications: Int
    /// Forward passes over all requests of this document.
    public var forwardPasses: Int
    /// Tokens processed (context + continuation, or prompt + generated) over all requests.
    public var tokens: Int
    /// Wall-clock seconds spent on the document (the only non-deterministic field).
    public var seconds: Double

    enum CodingKeys: String, CodingKey {
        case index, id, subtask, target, prediction, generation
        case chosenIndex = "chosen_index"
        case choiceLogLikelihoods = "choice_loglikelihoods"
        case metrics, path
        case blockApplications = "block_applications"
        case forwardPasses = "forward_passes"
        case tokens, seconds
    }

    public init(index: Int, id: String, subtask: String? = nil, target: String, prediction: String,
                generation: String? = nil, chosenIndex: Int? = nil,
                choiceLogLikelihoods: [Double]? = nil, metrics: [String: Double], path: PathSummary,
                blockApplications: Int, forwardPasses: Int, tokens: Int, seconds: Double) {
        self.index = index
        self.id = id
        self.subtask = subtask
        self.target = target
        self.prediction = prediction
        self.generation = generation
        self.chosenIndex = chosenIndex
        self.choiceLogLikelihoods = choiceLogLikelihoods
        self.metrics = metrics
        self.path = path
        self.blockApplications = blockApplications
        self.forwardPasses = forwardPasses
        self.tokens = tokens
        self.seconds = seconds
    }

    /// The record as the benchmark's aggregation sees it.
    public var score: ExampleScore {
        ExampleScore(id: id, subtask: subtask, metrics: metrics, prediction: prediction, target: target)
    }

    /// The record with `seconds` set to zero: what must be identical between an interrupted-and-
    /// resumed run and an uninterrupted one.
    public var withoutTiming: ExampleRecord {
        var copy = self
        copy.seconds = 0
        return copy
    }
}
