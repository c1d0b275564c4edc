import Dispatch
import Engine
import Foundation

/// A model behind an OpenAI-compatible completions server (vLLM, SGLang, llama.cpp's servers,
/// `bench serve`), evaluated the way lm-eval's `local-completions` model does it.
///
/// - Loglikelihood: the prompt is context + continuation (ids from `LMEvalRequestRules`, or the
///   text), sent with `echo`, `logprobs` and `max_tokens: 1`; the continuation's log-probability
///   is the sum of the echoed `token_logprobs` over its tokens, and it is greedy when each equals
///   the best of its `top_logprobs`. Before the first such request the server is probed once: the
///   log-probabilities it echoes for a prompt token must be those it gives when generating at that
///   position (a server that shifts them by one is refused, not trusted).
/// - Generation: greedy (`temperature: 0`), the task's stop strings, and the budget and left
///   truncation `LMEvalRequestRules.fitToContext` gives; the text is cut at the stop strings.
///
/// Not routable: the server runs every block, so no path or block count is known here (records
/// carry an empty path and zero block applications).
public final class OpenAICompletionsModel: LanguageModel, @unchecked Sendable {
    public let name: String
    public let server: OpenAIServer
    /// lm-eval's request rules over the served model's tokenizer.
    public let rules: LMEvalRequestRules
    let client: CompletionsClient
    // Guards `probed`: the probe runs once, before the first scoring request.
    private let lock = NSLock()
    private var probed = false

    public init(name: String, server: OpenAIServer, rules: LMEvalRequestRules,
                transport: any HTTPTransport = AsyncHTTPTransport()) {
        self.name = name
        self.server = server
        self.rules = rules
        self.client = CompletionsClient(server: server, transport: transport)
    }

    /// Loads the tokenizer and context length from a GGUF file's metadata (no weights).
    public convenience init(name: String, server: OpenAIServer, tokenizerGGUF path: String,
                            transport: any HTTPTransport = AsyncHTTPTransport()) throws {
        let file = try GGUFFile(path: path)
        let configuration = try ModelConfiguration(gguf: file)
        let tokenizer = try BPETokenizer(gguf: file)
        self.init(name: name, server: server,
                  rules: LMEvalRequestRules(tokenizer: tokenizer, contextLength: configuration.contextLength),
                  transport: transport)
    }

    public func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest])
        throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult]) {
        // Everything that can be refused without the server is checked first.
        let pairs = try scoring.map { r -> EncodedPair in
            let pair = rules.encodePair(context: r.context, continuation: r.continuation)
            guard !pair.continuation.isEmpty else {
                throw EngineError.emptyContinuation(context: r.context, continuation: r.continuation)
            }
            let total = pair.context.count + pair.continuation.count
            guard total <= rules.contextLength else { throw EngineError.tooLong(tokens: total, limit: rules.contextLength) }
            return pair
        }
        let prompts = try generating.map { r -> (ids: [Int32], maxTokens: Int) in
            let ids = rules.encode(r.context)
            guard !ids.isEmpty else { throw EngineError.emptyPrompt }
            return try rules.fitToContext(ids, maxTokens: r.maxTokens)
        }
        if !scoring.isEmpty && !isProbed {
            try blocking { try await self.probePromptLogprobs() }
            markProbed()
        }
        let jobs = scoring.indices.map { Job.score($0) } + generating.indices.map { Job.generate($0) }
        let answers = try blocking { [self] in
            try await withThrowingTaskGroup(of: (Int, JobAnswer).self) { group in
                var out = [JobAnswer?](repeating: nil, count: jobs.count)
                var next = 0
                func add(_ i: Int) {
                    group.addTask {
                        switch jobs[i] {
                        case let .score(k):
                            return (i, .scored(try await self.score(scoring[k], pair: pairs[k])))
                        case let .generate(k):
                            return (i, .generated(try await self.generate(generating[k], prompt: prompts[k])))
                        }
                    }
                }
                while next < min(jobs.count, server.concurrency) { add(next); next += 1 }
                while let (i, answer) = try await group.next() {
                    out[i] = answer
                    if next < jobs.count { add(next); next += 1 }
                }
                return out.map { $0! }
            }
        }
        var scored: [LoglikelihoodResult] = [], generated: [GenerationResult] = []
        for answer in answers {
            switch answer {
            case let .scored(r): scored.append(r)
            case let .generated(r): generated.append(r)
            }
        }
        return (scored, generated)
    }

    private enum Job: Sendable { case score(Int), generate(Int) }
    private enum JobAnswer: Sendable { case scored(LoglikelihoodResult), generated(GenerationResult) }

    private var isProbed: Bool { lock.withLock { probed } }
    private func markProbed() { lock.withLock { probed = true } }

    private var url: String { server.url("completions").absoluteString }

    /// The prompt for `ids`, whose text is `text` (used in text mode).
    private func prompt(_ ids: [Int32], text: String) -> CompletionPrompt {
        server.promptEncoding == .tokens ? .tokens(ids) : .text(text)
    }

    /// Echoes `ids` with log-probabilities and returns the entries of the prompt tokens (the
    /// generated token's entry, if echoed, dropped), checked against the prompt's length.
    private func echo(_ ids: [Int32], text: String, logprobs: Int)
        async throws -> (tokenLogprobs: [Double?], top: [[String: Double]?]?) {
        let body = CompletionRequestBody(model: server.servedModel, prompt: prompt(ids, text: text), maxTokens: 1,
                                         logprobs: logprobs, echo: true)
        let response = try await client.complete(body)
        guard let choice = response.first else { throw OpenAIBackendError.malformedResponse(url: url, reason: "no choices") }
        guard let entries = choice.logprobs?.tokenLogprobs, !entries.isEmpty else {
            throw OpenAIBackendError.noPromptLogprobs(url: url, detail: "the answer to echo=true, logprobs=\(logprobs) has no logprobs.token_logprobs")
        }
        // The prompt's entries come first; the generated token's (max_tokens 1) may follow, or be
        // missing (llama-cpp-python leaves it out). A server that echoes none has only the generated one.
        let generated = response.usage?.completionTokens ?? 0
        let promptEntries = ids.count
        if let served = response.usage?.promptTokens, served != ids.count {
            if server.promptEncoding == .text {
                throw OpenAIBackendError.tokenizationMismatch(url: url, ours: ids.count, theirs: served, text: text)
            }
            throw OpenAIBackendError.malformedResponse(url: url, reason: "the server counts \(served) prompt tokens for the \(ids.count) sent")
        }
        if entries.count <= generated && entries.count < ids.count {
            throw OpenAIBackendError.noPromptLogprobs(
                url: url, detail: "echo=true returned log-probabilities for the generated token only, none for the \(ids.count) prompt tokens")
        }
        guard entries.count == ids.count || entries.count == ids.count + generated else {
            if server.promptEncoding == .text {
                throw OpenAIBackendError.tokenizationMismatch(url: url, ours: ids.count, theirs: entries.count - generated, text: text)
            }
            throw OpenAIBackendError.malformedResponse(
                url: url, reason: "\(entries.count) log-probabilities echoed for \(ids.count) prompt and \(generated) generated tokens")
        }
        let top = choice.logprobs?.topLogprobs.map { Array($0.prefix(promptEntries)) }
        return (Array(entries.prefix(promptEntries)), top)
    }

    /// The probe: the best log-probability the server echoes at the last token of a short prompt
    /// must equal the best it gives when generating at that position from the prompt before it.
    func probePromptLogprobs() async throws {
        let text = "The capital of France is Paris. The capital of Italy is Rome."
        let ids = rules.encode(text)
        guard ids.count >= 3 else { return }
        let echoed = try await echo(ids, text: text, logprobs: 5)
        guard let lastTop = echoed.top?.last ?? nil, let echoedBest = lastTop.values.max() else {
            throw OpenAIBackendError.noPromptLogprobs(url: url, detail: "the echoed prompt tokens carry no top_logprobs")
        }
        let prefix = Array(ids.dropLast())
        let body = CompletionRequestBody(model: server.servedModel, prompt: prompt(prefix, text: rules.tokenizer.decode(prefix)),
                                         maxTokens: 1, logprobs: 5)
        let response = try await client.complete(body)
        guard let generatedTop = response.first?.logprobs?.topLogprobs?.first ?? nil,
              let generatedBest = generatedTop.values.max() else {
            throw OpenAIBackendError.malformedResponse(url: url, reason: "a generated token came without top_logprobs (logprobs=5)")
        }
        // The last prompt token's own log-probability where the server lists it among its top 5 at
        // that position; otherwise the best there.
        let lastText = rules.tokenizer.decode([ids[ids.count - 1]])
        let (echoedValue, generatedValue, what): (Double, Double, String)
        if let listed = generatedTop[lastText], let echoedLast = echoed.tokenLogprobs.last ?? nil {
            (echoedValue, generatedValue, what) = (echoedLast, listed, "log-probability of \(lastText.debugDescription)")
        } else {
            (echoedValue, generatedValue, what) = (echoedBest, generatedBest, "best log-probability")
        }
        guard abs(echoedValue - generatedValue) <= 1e-3 * max(1, abs(generatedValue)) else {
            throw OpenAIBackendError.misalignedPromptLogprobs(
                url: url, detail: "at the last token of \(text.debugDescription) the echo's \(what) is "
                    + "\(echoedValue), generating at that position gives \(generatedValue)")
        }
    }

    func score(_ request: LoglikelihoodRequest, pair: EncodedPair) async throws -> LoglikelihoodResult {
        let ids = pair.context + pair.continuation
        // lm-eval conditions an empty context on a prefix token; in text mode its text is sent.
        let text = rules.encode(request.context).isEmpty ? rules.tokenizer.decode(ids) : request.context + request.continuation
        let echoed = try await echo(ids, text: text, logprobs: 1)
        let range = pair.context.count..<ids.count
        var sum = 0.0
        var greedy = true
        for i in range {
            guard let lp = echoed.tokenLogprobs[i] else {
                throw OpenAIBackendError.noPromptLogprobs(url: url, detail: "token_logprobs[\(i)] is null")
            }
            sum += lp
            if let top = echoed.top, i < top.count, let candidates = top[i], let best = candidates.values.max() {
                if lp != best { greedy = false }
            } else {
                greedy = false
            }
        }
        return LoglikelihoodResult(logLikelihood: sum, isGreedy: greedy, continuationTokens: pair.continuation.count,
                                   contextTokens: pair.context.count, path: LayerPath([]), blockApplications: 0,
                                   forwardPasses: 1)
    }

    func generate(_ request: GenerationRequest, prompt fitted: (ids: [Int32], maxTokens: Int)) async throws -> GenerationResult {
        let stops = request.until.filter { !$0.isEmpty }
        let truncated = fitted.ids.count < rules.encode(request.context).count
        let text = truncated ? rules.tokenizer.decode(fitted.ids) : request.context
        let body = CompletionRequestBody(model: server.servedModel, prompt: prompt(fitted.ids, text: text),
                                         maxTokens: fitted.maxTokens, stop: stops.isEmpty ? nil : stops)
        let response = try await client.complete(body)
        guard let choice = response.first, let raw = choice.text else {
            throw OpenAIBackendError.malformedResponse(url: url, reason: "no choices[0].text")
        }
        let reason: StopReason = choice.finishReason == "length" ? .maxTokens : (stops.isEmpty ? .endOfSequence : .stopString)
        let generatedTokens = response.usage?.completionTokens ?? 0
        return GenerationResult(text: LMEvalRequestRules.cut(raw, at: request.until), stopReason: reason,
                                promptTokens: fitted.ids.count, generatedTokens: generatedTokens, path: LayerPath([]),
                                blockApplications: 0, forwardPasses: max(1, generatedTokens))
    }
}

/// Runs async work to completion from synchronous code (the `LanguageModel` seam is synchronous);
/// must not be called from a task of the cooperative pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await work()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// The result handed from the task to the waiting thread; the semaphore orders the write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
