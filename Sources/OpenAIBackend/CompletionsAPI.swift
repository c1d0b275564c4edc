import Foundation

/// A prompt as the completions API takes it: text or token ids.
public enum CompletionPrompt: Sendable, Equatable, Encodable {
    case text(String)
    case tokens([Int32])

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .text(t): try c.encode(t)
        case let .tokens(ids): try c.encode(ids)
        }
    }
}

/// The body of `POST /completions`, with only the fields this backend sends (as lm-eval's
/// `local-completions` sends them: greedy, a fixed seed).
public struct CompletionRequestBody: Sendable, Encodable, Equatable {
    public var model: String
    public var prompt: CompletionPrompt
    public var maxTokens: Int
    public var temperature: Double = 0
    public var logprobs: Int?
    public var echo: Bool?
    public var stop: [String]?
    public var seed: Int = 1234

    enum CodingKeys: String, CodingKey {
        case model, prompt, temperature, logprobs, echo, stop, seed
        case maxTokens = "max_tokens"
    }
}

/// The part of a completions response this backend reads.
public struct CompletionResponseBody: Sendable, Decodable, Equatable {
    public struct Logprobs: Sendable, Decodable, Equatable {
        public var tokens: [String]?
        public var tokenLogprobs: [Double?]?
        public var topLogprobs: [[String: Double]?]?
        enum CodingKeys: String, CodingKey {
            case tokens
            case tokenLogprobs = "token_logprobs"
            case topLogprobs = "top_logprobs"
        }
    }
    public struct Choice: Sendable, Decodable, Equatable {
        public var index: Int?
        public var text: String?
        public var logprobs: Logprobs?
        public var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case index, text, logprobs
            case finishReason = "finish_reason"
        }
    }
    public struct Usage: Sendable, Decodable, Equatable {
        public var promptTokens: Int?
        public var completionTokens: Int?
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
        }
    }
    public var choices: [Choice]
    public var usage: Usage?

    /// The first choice (by `index`): this backend always asks for one.
    public var first: Choice? { choices.min { ($0.index ?? 0) < ($1.index ?? 0) } }
}

/// One HTTP answer: status and body.
public struct HTTPAnswer: Sendable, Equatable {
    public var status: Int
    public var body: Data
    public init(status: Int, body: Data) {
        self.status = status
        self.body = body
    }
}

/// Sends a JSON POST and returns the answer; throws only when no answer came (connection refused
/// or reset, timeout). The seam between the backend and the network: `AsyncHTTPTransport` is the
/// real one, tests use an in-process double.
public protocol HTTPTransport: Sendable {
    func post(_ url: URL, json: Data, headers: [(String, String)], timeoutSeconds: Double) async throws -> HTTPAnswer
}

/// The message of an error answer: OpenAI's `{"error": {"message": …}}`, FastAPI's `{"detail": …}`,
/// or the start of the body; at most its first two lines and 300 characters (servers append
/// tracebacks).
func errorMessage(in body: Data) -> String {
    func short(_ text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).prefix(2).map { $0.trimmingCharacters(in: .whitespaces) }
        let joined = lines.joined(separator: " ")
        return joined.count > 300 ? String(joined.prefix(300)) + "…" : joined
    }
    if let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any] {
        if let error = object["error"] as? [String: Any], let message = error["message"] as? String { return short(message) }
        if let message = object["error"] as? String { return short(message) }
        if let detail = object["detail"] {
            if let text = detail as? String { return text }
            if let data = try? JSONSerialization.data(withJSONObject: detail, options: [.sortedKeys]),
               let text = String(data: data, encoding: .utf8) { return String(text.prefix(300)) }
        }
    }
    return String(String(decoding: body.prefix(300), as: UTF8.self))
}

/// `POST <base>/completions` with retries: connection errors, timeouts, 408, 429 and 5xx are
/// retried with exponential backoff; other 4xx answers and malformed bodies are not.
public struct CompletionsClient: Sendable {
    public let server: OpenAIServer
    public let transport: any HTTPTransport

    public init(server: OpenAIServer, transport: any HTTPTransport) {
        self.server = server
        self.transport = transport
    }

    public func complete(_ body: CompletionRequestBody) async throws -> CompletionResponseBody {
        let url = server.url("completions")
        let json = try JSONEncoder().encode(body)
        var headers = [("Content-Type", "application/json")]
        if let key = server.apiKey { headers.append(("Authorization", "Bearer \(key)")) }
        var lastError = ""
        var delay = server.initialBackoffSeconds
        for attempt in 0...server.retries {
            if attempt > 0 {
                try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(30, delay * 2)
            }
            let answer: HTTPAnswer
            do {
                answer = try await transport.post(url, json: json, headers: headers, timeoutSeconds: server.timeoutSeconds)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = String(describing: error)
                continue
            }
            switch answer.status {
            case 200..<300:
                do {
                    return try JSONDecoder().decode(CompletionResponseBody.self, from: answer.body)
                } catch {
                    throw OpenAIBackendError.malformedResponse(url: url.absoluteString, reason: "\(error)")
                }
            case 408, 429, 500...:
                let message = errorMessage(in: answer.body)
                // llama-cpp-python answers a request it cannot validate with 500: retrying cannot help.
                if case .tokens = body.prompt, answer.status == 500, message.contains("validation error"), message.contains("prompt") {
                    throw OpenAIBackendError.tokenPromptsRefused(url: url.absoluteString, status: answer.status, message: message)
                }
                lastError = "HTTP \(answer.status): \(message)"
            default:
                let message = errorMessage(in: answer.body)
                // A server that refuses echo (llama.cpp's llama-server: "Only no echo is supported") has no prompt log-probabilities.
                if body.echo == true, message.lowercased().contains("echo") {
                    throw OpenAIBackendError.noPromptLogprobs(url: url.absoluteString, detail: "it refused echo=true (HTTP \(answer.status): \(message))")
                }
                if case .tokens = body.prompt, answer.status == 400 || answer.status == 422, message.contains("prompt") {
                    throw OpenAIBackendError.tokenPromptsRefused(url: url.absoluteString, status: answer.status, message: message)
                }
                throw OpenAIBackendError.rejected(url: url.absoluteString, status: answer.status,
                                                  message: errorMessage(in: answer.body))
            }
        }
        throw OpenAIBackendError.unreachable(url: url.absoluteString, attempts: server.retries + 1, lastError: lastError)
    }
}
