/// How a model chooses the blocks of a forward pass.
///
/// `.full` runs every block once; `.fixed` runs the given path for every sequence. Router-driven
/// policies live in the `Routing` module and reach the engine through `PathDecider`.
public enum LayerPolicy: Sendable {
    case full
    case fixed(LayerPath)
    case decided(any PathDecider)
}

/// Decides a sequence's layer path once, at prefill, from the hidden states entering each block.
///
/// The engine calls `decide` block by block: before block `layer` runs it hands over the hidden
/// states `[T × d]` (row-major, the prompt tokens) produced by the path executed so far; the
/// answer is how many times to apply that block (0 skip, 1 execute, 2 repeat).
public protocol PathDecider: Sendable {
    /// Applications (0, 1 or 2) of block `layer`, given the prompt's hidden states entering it.
    func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int
    /// What the decider reads for a scoring request (default `.context`).
    var routingInput: RoutingInput { get }
}

extension PathDecider {
    public var routingInput: RoutingInput { .context }
}

/// What a `PathDecider` reads when it routes a scoring request (context + continuation).
/// Generation requests are always routed on their prompt.
public enum RoutingInput: String, Sendable, CaseIterable, Codable {
    /// The context alone: one path per context, shared by all its continuations (the paper's
    /// setting: the router reads the question, once, at prefill). `bench run`'s default.
    case context
    /// Context and continuation together, one path per request: what a server sees when a client
    /// sends a loglikelihood request as one prompt (lm-eval's `local-completions` with `echo`), so
    /// the routers read the choice too. One prefill per request: choices share no context work.
    case sequence
}

/// One loglikelihood request: score `continuation` given `context`.
public struct LoglikelihoodRequest: Hashable, Sendable, Codable {
    public var context: String
    public var continuation: String
    public init(context: String, continuation: String) {
        self.context = context
        self.continuation = continuation
    }
}

/// The answer to a `LoglikelihoodRequest`.
public struct LoglikelihoodResult: Hashable, Sendable, Codable {
    /// Sum of the continuation tokens' log-probabilities.
    public var logLikelihood: Double
    /// True when every continuation token is the argmax of its distribution.
    public var isGreedy: Bool
    /// Number of continuation tokens.
    public var continuationTokens: Int
    /// Number of context tokens (after lm-eval's boundary rule).
    public var contextTokens: Int
    /// The path used for this sequence.
    public var path: LayerPath
    /// Block applications spent on this request (prefill of context + continuation tokens).
    public var blockApplications: Int
    /// Forward passes (1 for a scoring request).
    public var forwardPasses: Int
    public init(logLikelihood: Double, isGreedy: Bool, continuationTokens: Int, contextTokens: Int,
                path: LayerPath, blockApplications: Int, forwardPasses: Int) {
        self.logLikelihood = logLikelihood
        self.isGreedy = isGreedy
        self.continuationTokens = continuationTokens
        self.contextTokens = contextTokens
        self.path = path
        self.blockApplications = blockApplications
        self.forwardPasses = forwardPasses
    }
}

/// One greedy generation request.
public struct GenerationRequest: Hashable, Sendable, Codable {
    public var context: String
    /// Stop strings; the output is cut at the first occurrence of any of them.
    public var until: [String]
    /// Maximum number of new tokens.
    public var maxTokens: Int
    public init(context: String, until: [String], maxTokens: Int) {
        self.context = context
        self.until = until
        self.maxTokens = maxTokens
    }
}

/// Why generation ended.
public enum StopReason: String, Hashable, Sendable, Codable {
    case stopString = "stop"
    case endOfSequence = "eos"
    case maxTokens = "length"
}

/// The answer to a `GenerationRequest`.
public struct GenerationResult: Hashable, Sendable, Codable {
    /// Generated text, cut before the first stop string.
    public var text: String
    public var stopReason: StopReason
    public var promptTokens: Int
    public var generatedTokens: Int
    public var path: LayerPath
    /// Block applications over all forward passes (prefill + each decode step).
    public var blockApplications: Int
    public var forwardPasses: Int
    public init(text: String, stopReason: StopReason, promptTokens: Int, generatedTokens: Int,
                path: LayerPath, blockApplications: Int, forwardPasses: Int) {
        self.text = text
        self.stopReason = stopReason
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.path = path
        self.blockApplications = blockApplications
        self.forwardPasses = forwardPasses
    }
}

/// Text in, log-likelihoods and greedy generations out: the seam every backend implements (the
/// native engine, test doubles, and any model reached over HTTP). lm-eval's tokenisation rules
/// live in `LMEvalRequestRules`, once, for the backends that tokenise.
public protocol LanguageModel: AnyObject {
    /// A short identifier (e.g. `smollm2-135m-instruct`).
    var name: String { get }
    /// Both kinds of request of one batch (a document may ask for both, as SQuAD v2 does), with
    /// every block of the model applied once.
    func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest])
        throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult])
}

/// A model whose blocks run here, so a layer policy can skip, execute or repeat each of them and
/// every block application is counted. Only the native engine (and its test doubles) is routable.
public protocol RoutableLanguageModel: LanguageModel {
    /// Number of transformer blocks.
    var layerCount: Int { get }
    /// Scores each request; requests sharing a context share one prefill.
    func loglikelihood(_ requests: [LoglikelihoodRequest], policy: LayerPolicy) throws -> [LoglikelihoodResult]
    /// Greedy generation for each request.
    func generate(_ requests: [GenerationRequest], policy: LayerPolicy) throws -> [GenerationResult]
    /// Both kinds of request of one batch under `policy`. The answers must be those of
    /// `loglikelihood` and `generate` called separately; an implementation may share work between
    /// requests with the same context.
    func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest],
                  policy: LayerPolicy) throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult])
}

extension RoutableLanguageModel {
    /// Scores, then generates: nothing shared.
    public func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest],
                         policy: LayerPolicy) throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult]) {
        (scoring.isEmpty ? [] : try loglikelihood(scoring, policy: policy),
         generating.isEmpty ? [] : try generate(generating, policy: policy))
    }

    /// Every block once.
    public func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest])
        throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult]) {
        try evaluate(loglikelihood: scoring, generation: generating, policy: .full)
    }
}
