import Benchmarks
import Engine
import Foundation

/// An HTTP answer: status and JSON body.
public struct ServiceReply: Sendable, Equatable {
    public var status: Int
    public var body: Data
}

/// The OpenAI-compatible API, independent of any HTTP library: a request's method, path,
/// `Authorization` header and body in, a status and JSON body out. `CompletionHTTPServer` puts it
/// on a socket; tests and the request fuzzer call it directly.
public final class CompletionService: Sendable {
    /// What `bench serve` was started with.
    public struct Settings: Sendable {
        /// Requests must carry `Authorization: Bearer <apiKey>` (all but `GET /health`); nil: open.
        public var apiKey: String?
        /// Largest request body taken, in bytes.
        public var maxBodyBytes: Int
        /// Requests that may wait for the engine before the next is refused with 429.
        public var queueCapacity: Int

        public init(apiKey: String? = nil, maxBodyBytes: Int = 4 << 20, queueCapacity: Int = 256) {
            self.apiKey = apiKey
            self.maxBodyBytes = maxBodyBytes
            self.queueCapacity = queueCapacity
        }
    }

    public let settings: Settings
    public let selector: ModelSelector
    public let scheduler: CompletionScheduler
    private let engineName: String
    private let contextLength: Int
    private let tokenizer: BPETokenizer
    private let chatTemplate: any ChatTemplate
    private let counter = RequestCounter()

    /// - Parameters:
    ///   - engine: the model; from here on only the scheduler's worker thread calls it.
    ///   - routers: the policy `M:routed` stands for (nil: not offered).
    ///   - chatTemplate: how `/v1/chat/completions` renders messages (the model's own template).
    public init(engine: any CompletionEngine, routers: (any PathDecider)?, chatTemplate: any ChatTemplate, settings: Settings) {
        self.settings = settings
        self.engineName = engine.name
        self.contextLength = engine.contextLength
        self.tokenizer = engine.tokenizer
        self.chatTemplate = chatTemplate
        self.selector = ModelSelector(modelName: engine.name, layerCount: engine.layerCount, routersAvailable: routers != nil)
        self.scheduler = CompletionScheduler(engine: engine, capacity: settings.queueCapacity) { policy in
            switch policy {
            case .full: return .full
            case let .fixed(path): return .fixed(path)
            case .routed: return .decided(routers!)
            }
        }
    }

    /// Stops the engine's worker (waiting requests are answered 500).
    public func stop() { scheduler.stop() }

    /// Answers one request. Never throws: every failure is an OpenAI-style error answer.
    public func handle(method: String, path: String, authorization: String?, body: Data) async -> ServiceReply {
        do {
            let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
            let normalised = route.count > 1 && route.hasSuffix("/") ? String(route.dropLast()) : route
            let routes: [String: String] = ["/health": "GET", "/v1/models": "GET",
                                            "/v1/completions": "POST", "/v1/chat/completions": "POST"]
            guard let expected = routes[normalised] else { throw APIError.notFound(normalised) }
            guard method == expected else { throw APIError.methodNotAllowed(method, normalised) }
            if normalised == "/health" { return try reply(health()) }
            if let key = settings.apiKey, authorization != "Bearer \(key)" { throw APIError.unauthorized }
            switch normalised {
            case "/v1/models": return try reply(models())
            case "/v1/completions": return try reply(await completions(try parseBody(body)))
            default: return try reply(await chatCompletions(try parseBody(body)))
            }
        } catch let error as APIError {
            return ServiceReply(status: error.status, body: error.body)
        } catch {
            let e = APIError.internalError("internal error: \(error)")
            return ServiceReply(status: e.status, body: e.body)
        }
    }

    /// The answer to a body larger than `maxBodyBytes` (the HTTP layer stops reading it).
    public var bodyTooLargeReply: ServiceReply {
        let e = APIError.bodyTooLarge(limit: settings.maxBodyBytes)
        return ServiceReply(status: e.status, body: e.body)
    }

    // MARK: - Endpoints

    private func health() -> HealthBody {
        let s = scheduler.currentStatistics
        return HealthBody(status: "ok", model: engineName, queued: scheduler.queued, requests: s.requests,
                          engineCalls: s.engineCalls, largestBatch: s.largestBatch, refusedQueueFull: s.refusedQueueFull,
                          engineSeconds: (s.engineSeconds * 1000).rounded() / 1000)
    }

    private func models() -> ModelList {
        ModelList(data: selector.listedNames.map { ModelList.Entry(id: $0) })
    }

    private func parseBody(_ body: Data) throws -> RequestJSON {
        guard body.count <= settings.maxBodyBytes else { throw APIError.bodyTooLarge(limit: settings.maxBodyBytes) }
        guard !body.isEmpty else { throw APIError.invalid("the request has no body; send a JSON object") }
        do {
            return try RequestJSON.parse(body)
        } catch {
            throw APIError.invalid("the request body is not valid JSON (\(Self.shortReason(error)))", code: "invalid_json")
        }
    }

    private func completions(_ json: RequestJSON) async throws -> AnswerBody<CompletionBody.Choice> {
        let request = try CompletionRequest.parse(json, selector: selector)
        let rules = LMEvalRequestRules(tokenizer: tokenizer, contextLength: contextLength)
        var engineRequests: [TokenCompletionRequest] = []
        for (i, prompt) in request.prompts.enumerated() {
            let ids: [Int32]
            switch prompt {
            case let .text(t): ids = rules.encode(t)
            case let .tokens(t): ids = t
            }
            try check(ids, maxTokens: request.decoding.maxTokens, index: request.prompts.count > 1 ? i : nil)
            engineRequests.append(TokenCompletionRequest(prompt: ids, maxTokens: request.decoding.maxTokens, stop: request.decoding.stop,
                                                         scorePrompt: request.echo && request.logprobs != nil,
                                                         topLogprobs: request.logprobs))
        }
        let results = try await run(engineRequests, policy: request.policy)
        var choices: [CompletionBody.Choice] = []
        var usage = Usage()
        for (i, (r, c)) in zip(engineRequests, results).enumerated() {
            let promptText: String
            switch request.prompts[i] {
            case let .text(t): promptText = t
            case let .tokens(t): promptText = tokenizer.decode(t)
            }
            var logprobs: CompletionBody.Logprobs?
            if request.logprobs != nil {
                var entries: [TokenLogprob] = request.echo ? c.promptLogprobs : []
                entries += c.generatedLogprobs
                var offset = 0
                var text: [String] = [], lps: [Double?] = [], tops: [[String: Double]?] = [], offsets: [Int] = []
                for (j, e) in entries.enumerated() {
                    let s = tokenizer.decode([e.token])
                    text.append(s)
                    lps.append(e.logprob)
                    tops.append(request.echo && j == 0 ? nil : topDictionary(e.top))
                    offsets.append(offset)
                    offset += s.unicodeScalars.count
                }
                logprobs = CompletionBody.Logprobs(tokens: text, tokenLogprobs: lps, topLogprobs: tops, textOffset: offsets)
            }
            choices.append(CompletionBody.Choice(index: i, text: request.echo ? promptText + c.text : c.text, logprobs: logprobs,
                                                 finishReason: c.stopReason == .maxTokens ? "length" : "stop",
                                                 drllm: PathReport(c)))
            usage.add(prompt: r.prompt.count, completion: Self.completionTokens(c))
        }
        return AnswerBody(id: "cmpl-\(counter.next())", object: "text_completion", created: Int(Date().timeIntervalSince1970), model: request.model,
                              choices: choices, usage: usage, drllm: PolicyReport(request.policy, results))
    }

    private func chatCompletions(_ json: RequestJSON) async throws -> AnswerBody<ChatCompletionBody.Choice> {
        let request = try ChatCompletionRequest.parse(json, selector: selector)
        let prompt = chatTemplate.render(request.messages, addGenerationPrompt: true)
        let ids = LMEvalRequestRules(tokenizer: tokenizer, contextLength: contextLength).encode(prompt)
        try check(ids, maxTokens: request.decoding.maxTokens, index: nil)
        let engineRequest = TokenCompletionRequest(prompt: ids, maxTokens: request.decoding.maxTokens, stop: request.decoding.stop,
                                                   scorePrompt: false, topLogprobs: request.topLogprobs)
        let c = try await run([engineRequest], policy: request.policy)[0]
        let logprobs = request.topLogprobs.map { _ in
            ChatCompletionBody.Logprobs(content: c.generatedLogprobs.map { e in
                ChatCompletionBody.TokenEntry(token: tokenizer.decode([e.token]), logprob: e.logprob ?? 0,
                                              topLogprobs: e.top.map { .init(token: tokenizer.decode([$0.token]), logprob: $0.logprob, topLogprobs: nil) })
            })
        }
        var usage = Usage()
        usage.add(prompt: ids.count, completion: Self.completionTokens(c))
        return AnswerBody(
            id: "chatcmpl-\(counter.next())", object: "chat.completion", created: Int(Date().timeIntervalSince1970), model: request.model,
            choices: [.init(index: 0, message: .init(role: "assistant", content: c.text), logprobs: logprobs,
                            finishReason: c.stopReason == .maxTokens ? "length" : "stop", drllm: PathReport(c))],
            usage: usage, drllm: PolicyReport(request.policy, [c]))
    }

    // MARK: - Helpers

    /// Tokens the model produced, an end-of-generation token included (as OpenAI-style servers
    /// count it, and as the log-probabilities list it).
    static func completionTokens(_ c: TokenCompletion) -> Int {
        c.generated.count + (c.stopReason == .endOfSequence ? 1 : 0)
    }

    /// Refuses a prompt that cannot run: empty, or too long for the context with `maxTokens`.
    private func check(_ ids: [Int32], maxTokens: Int, index: Int?) throws {
        let which = index.map { "prompt[\($0)]" } ?? "prompt"
        guard !ids.isEmpty else { throw APIError.invalid("'\(which)' has no tokens", param: "prompt", code: "empty_prompt") }
        let vocabulary = tokenizer.vocabularySize
        if let bad = ids.first(where: { Int($0) >= vocabulary }) {
            throw APIError.invalid("'\(which)' holds token id \(bad), outside the vocabulary (0..<\(vocabulary))", param: "prompt", code: "invalid_token")
        }
        if ids.count + maxTokens > contextLength {
            throw APIError.invalid("This model's maximum context length is \(contextLength) tokens. However, you requested \(ids.count + maxTokens) tokens (\(ids.count) in the \(which), \(maxTokens) for the completion). Please reduce the prompt or max_tokens.",
                                   param: ids.count >= contextLength ? "prompt" : "max_tokens", code: "context_length_exceeded")
        }
    }

    private func run(_ requests: [TokenCompletionRequest], policy: ServedPolicy) async throws -> [TokenCompletion] {
        do {
            return try await scheduler.submit(requests, policy: policy)
        } catch let error as APIError {
            throw error
        } catch let error as EngineError {
            throw APIError.invalid(error.errorDescription ?? "\(error)")
        }
    }

    /// `top_logprobs` of one position: token text → log-probability; where two alternatives
    /// decode to the same text, the more likely one is kept.
    private func topDictionary(_ top: [TokenAlternative]) -> [String: Double] {
        var d: [String: Double] = [:]
        for a in top {
            let key = tokenizer.decode([a.token])
            if d[key] == nil { d[key] = a.logprob }
        }
        return d
    }

    private func reply<Body: Encodable>(_ body: Body) throws -> ServiceReply {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return ServiceReply(status: 200, body: try encoder.encode(body))
    }

    private static func shortReason(_ error: any Error) -> String {
        if case let DecodingError.dataCorrupted(context) = error {
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        }
        return String(String(describing: error).prefix(200))
    }
}

/// Request ids, unique per server.
private final class RequestCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value }
}
