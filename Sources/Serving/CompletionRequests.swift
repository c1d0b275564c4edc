import Benchmarks
import Engine
import Foundation

/// Which blocks run for a request, chosen by the model name it asks for.
public enum ServedPolicy: Hashable, Sendable, CustomStringConvertible {
    /// `M`: every block once (the `baseline` configuration).
    case full
    /// `M:routed`: paths decided by the model's routers (the `routed` configuration).
    case routed
    /// `M:path=0,1,1,3`: one fixed path for every sequence.
    case fixed(LayerPath)

    public var description: String {
        switch self {
        case .full: return "full"
        case .routed: return "routed"
        case let .fixed(p): return "path=\(p)"
        }
    }
}

/// The model names a server answers to, and the policy each stands for.
public struct ModelSelector: Sendable {
    /// The served model's name (`bench serve --model`).
    public var modelName: String
    /// Its number of blocks (paths are checked against it).
    public var layerCount: Int
    /// Whether `M:routed` is offered (routers were loaded).
    public var routersAvailable: Bool

    public init(modelName: String, layerCount: Int, routersAvailable: Bool) {
        self.modelName = modelName
        self.layerCount = layerCount
        self.routersAvailable = routersAvailable
    }

    /// The names `GET /v1/models` lists (the fixed-path form is open-ended and documented instead).
    public var listedNames: [String] { routersAvailable ? [modelName, modelName + ":routed"] : [modelName] }

    /// The policy a requested model name stands for.
    public func policy(for requested: String) throws(APIError) -> ServedPolicy {
        if requested == modelName { return .full }
        guard requested.hasPrefix(modelName + ":") else {
            throw APIError(status: 404, message: "The model '\(requested)' does not exist; this server serves '\(modelName)' (also as '\(modelName):routed' and '\(modelName):path=0,1,…')",
                           type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        let suffix = requested.dropFirst(modelName.count + 1)
        if suffix == "routed" {
            guard routersAvailable else {
                throw .invalid("'\(requested)': this server was started without routers (bench serve --router FILE)", param: "model", code: "model_not_found")
            }
            return .routed
        }
        if suffix.hasPrefix("path=") {
            let path: LayerPath
            do {
                path = try LayerPath.parse(String(suffix.dropFirst(5)))
                try path.validate(layerCount: layerCount)
            } catch {
                throw .invalid("'\(requested)': invalid layer path: \(error.description)", param: "model", code: "invalid_path")
            }
            return .fixed(path)
        }
        throw .invalid("'\(requested)': unknown suffix '\(suffix)'; use '\(modelName):routed' or '\(modelName):path=0,1,…'",
                       param: "model", code: "model_not_found")
    }
}

/// A prompt as a request gives it.
public enum PromptInput: Hashable, Sendable {
    case text(String)
    case tokens([Int32])
}

/// The greedy-decoding settings every request kind shares (checked the same way for both).
public struct DecodingSettings: Hashable, Sendable {
    public var maxTokens: Int
    public var stop: [String]
}

/// `POST /v1/completions`, checked field by field.
public struct CompletionRequest: Hashable, Sendable {
    public var model: String
    public var policy: ServedPolicy
    /// One or more prompts; each becomes one choice, in order.
    public var prompts: [PromptInput]
    public var decoding: DecodingSettings
    /// Return the prompt (and its log-probabilities, with `logprobs`) before the completion.
    public var echo: Bool
    /// Alternatives per position (OpenAI's `logprobs`); nil: no log-probabilities.
    public var logprobs: Int?

    /// Most prompts one request may carry.
    public static let maxPrompts = 64
    /// Most alternatives per position.
    public static let maxLogprobs = 20

    /// Reads a request body; every refusal names the field.
    public static func parse(_ json: RequestJSON, selector: ModelSelector) throws(APIError) -> CompletionRequest {
        let fields = try RequestFields(json)
        let model = try fields.requiredString("model")
        let policy = try selector.policy(for: model)
        let prompts = try parsePrompts(fields.value("prompt"))
        let decoding = try fields.decodingSettings(maxTokensKeys: ["max_tokens"])
        let echo = try fields.bool("echo") ?? false
        let logprobs = try fields.integer("logprobs", in: 0...maxLogprobs)
        try fields.refuseUnsupported(completions: true)
        return CompletionRequest(model: model, policy: policy, prompts: prompts, decoding: decoding, echo: echo, logprobs: logprobs)
    }

    static func parsePrompts(_ value: RequestJSON?) throws(APIError) -> [PromptInput] {
        guard let value else { throw .invalid("'prompt' is required", param: "prompt", code: "missing_field") }
        func tokens(_ items: [RequestJSON], param: String) throws(APIError) -> [Int32] {
            var ids: [Int32] = []
            ids.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                guard case let .integer(v) = item else {
                    throw .wrongType("\(param)[\(i)]", expected: "a token id (an integer)", found: item)
                }
                guard let id = Int32(exactly: v), id >= 0 else {
                    throw .invalid("'\(param)[\(i)]' = \(v) is not a token id", param: "prompt", code: "invalid_token")
                }
                ids.append(id)
            }
            return ids
        }
        switch value {
        case let .string(s): return [.text(s)]
        case let .array(items):
            guard let first = items.first else { throw .invalid("'prompt' is an empty array", param: "prompt", code: "empty_prompt") }
            switch first {
            case .integer: return [.tokens(try tokens(items, param: "prompt"))]
            case .string, .array:
                guard items.count <= maxPrompts else {
                    throw .invalid("'prompt' holds \(items.count) prompts; at most \(maxPrompts) per request", param: "prompt")
                }
                var prompts: [PromptInput] = []
                for (i, item) in items.enumerated() {
                    switch item {
                    case let .string(s): prompts.append(.text(s))
                    case let .array(inner) where !inner.isEmpty: prompts.append(.tokens(try tokens(inner, param: "prompt[\(i)]")))
                    case .array: throw .invalid("'prompt[\(i)]' is an empty array", param: "prompt", code: "empty_prompt")
                    default: throw .wrongType("prompt[\(i)]", expected: "a string or an array of token ids", found: item)
                    }
                }
                return prompts
            default:
                throw .wrongType("prompt[0]", expected: "a string, a token id or an array of token ids", found: first)
            }
        default:
            throw .wrongType("prompt", expected: "a string, an array of token ids, or an array of either", found: value)
        }
    }
}

/// `POST /v1/chat/completions`, checked field by field.
public struct ChatCompletionRequest: Hashable, Sendable {
    public var model: String
    public var policy: ServedPolicy
    public var messages: [ChatMessage]
    public var decoding: DecodingSettings
    /// Alternatives per generated token when `logprobs` is true (`top_logprobs`, default 0); nil
    /// when `logprobs` is false.
    public var topLogprobs: Int?

    public static func parse(_ json: RequestJSON, selector: ModelSelector) throws(APIError) -> ChatCompletionRequest {
        let fields = try RequestFields(json)
        let model = try fields.requiredString("model")
        let policy = try selector.policy(for: model)
        guard let value = fields.value("messages") else { throw .invalid("'messages' is required", param: "messages", code: "missing_field") }
        guard case let .array(items) = value else { throw .wrongType("messages", expected: "an array of messages", found: value) }
        guard !items.isEmpty else { throw .invalid("'messages' is empty", param: "messages") }
        var messages: [ChatMessage] = []
        for (i, item) in items.enumerated() {
            guard case let .object(m) = item else { throw .wrongType("messages[\(i)]", expected: "an object", found: item) }
            guard case let .string(roleName)? = m["role"] else {
                throw .invalid("'messages[\(i)].role' must be a string: system, user or assistant", param: "messages")
            }
            guard let role = ChatRole(rawValue: roleName) else {
                throw .invalid("'messages[\(i)].role' is '\(roleName)'; this server takes system, user and assistant", param: "messages")
            }
            guard case let .string(content)? = m["content"] else {
                throw .invalid("'messages[\(i)].content' must be a string", param: "messages")
            }
            messages.append(ChatMessage(role: role, content: content))
        }
        let decoding = try fields.decodingSettings(maxTokensKeys: ["max_completion_tokens", "max_tokens"])
        let logprobs = try fields.bool("logprobs") ?? false
        let top = try fields.integer("top_logprobs", in: 0...CompletionRequest.maxLogprobs)
        if top != nil && !logprobs { throw .invalid("'top_logprobs' needs 'logprobs': true", param: "top_logprobs") }
        try fields.refuseUnsupported(completions: false)
        return ChatCompletionRequest(model: model, policy: policy, messages: messages, decoding: decoding,
                                     topLogprobs: logprobs ? (top ?? 0) : nil)
    }
}

/// The fields of a request object, read with their types checked.
struct RequestFields {
    let object: [String: RequestJSON]

    init(_ json: RequestJSON) throws(APIError) {
        guard case let .object(o) = json else { throw .invalid("the request body must be a JSON object, not \(json.typeName)") }
        object = o
    }

    /// The field, nil when absent or null.
    func value(_ key: String) -> RequestJSON? {
        guard let v = object[key], v != .null else { return nil }
        return v
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let v = value(key) else { throw .invalid("'\(key)' is required", param: key, code: "missing_field") }
        guard case let .string(s) = v else { throw .wrongType(key, expected: "a string", found: v) }
        return s
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        guard let v = value(key) else { return nil }
        guard case let .bool(b) = v else { throw .wrongType(key, expected: "a boolean", found: v) }
        return b
    }

    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let v = value(key) else { return nil }
        guard case let .integer(i) = v else { throw .wrongType(key, expected: "an integer", found: v) }
        guard range.contains(i) else { throw .invalid("'\(key)' = \(i) is outside \(range.lowerBound)…\(range.upperBound)", param: key) }
        return i
    }

    func number(_ key: String) throws(APIError) -> Double? {
        guard let v = value(key) else { return nil }
        switch v {
        case let .integer(i): return Double(i)
        case let .number(d): return d
        default: throw .wrongType(key, expected: "a number", found: v)
        }
    }

    /// `max_tokens` (OpenAI's default 16 when absent) and `stop` (a string or up to 16 strings).
    func decodingSettings(maxTokensKeys: [String]) throws(APIError) -> DecodingSettings {
        var maxTokens = 16
        for key in maxTokensKeys {
            if let m = try integer(key, in: 0...Int(Int32.max)) { maxTokens = m; break }
        }
        var stop: [String] = []
        if let v = value("stop") {
            switch v {
            case let .string(s): stop = [s]
            case let .array(items):
                guard items.count <= 16 else { throw .invalid("'stop' holds \(items.count) strings; at most 16", param: "stop") }
                for (i, item) in items.enumerated() {
                    guard case let .string(s) = item else { throw .wrongType("stop[\(i)]", expected: "a string", found: item) }
                    stop.append(s)
                }
            default: throw .wrongType("stop", expected: "a string or an array of strings", found: v)
            }
        }
        return DecodingSettings(maxTokens: maxTokens, stop: stop.filter { !$0.isEmpty })
    }

    /// Sampling and features this engine does not have: it decodes greedily, one choice per
    /// prompt, without streaming. Their neutral values are accepted.
    func refuseUnsupported(completions: Bool) throws(APIError) {
        if let t = try number("temperature"), t != 0 {
            throw .unsupported("temperature", "= \(t): this server decodes greedily; only 0 is supported")
        }
        if let p = try number("top_p"), p != 1 { throw .unsupported("top_p", "= \(p): only 1 is supported (greedy decoding)") }
        if let n = try integer("n", in: Int.min...Int.max), n != 1 { throw .unsupported("n", "= \(n): one choice per prompt only") }
        if completions, let b = try integer("best_of", in: Int.min...Int.max), b != 1 {
            throw .unsupported("best_of", "= \(b): one choice per prompt only")
        }
        if try bool("stream") == true { throw .unsupported("stream", "is not supported: answers come whole") }
        for key in ["presence_penalty", "frequency_penalty"] {
            if let p = try number(key), p != 0 { throw .unsupported(key, "= \(p): penalties are not supported") }
        }
        if let v = value("logit_bias") {
            guard case let .object(o) = v else { throw .wrongType("logit_bias", expected: "an object", found: v) }
            if !o.isEmpty { throw .unsupported("logit_bias", "is not supported") }
        }
        if completions, let v = value("suffix") {
            guard case .string(let s) = v else { throw .wrongType("suffix", expected: "a string", found: v) }
            if !s.isEmpty { throw .unsupported("suffix", "is not supported") }
        }
        if let v = value("seed"), case .integer = v {} else if let v = value("seed") {
            throw .wrongType("seed", expected: "an integer", found: v)
        }
    }
}
