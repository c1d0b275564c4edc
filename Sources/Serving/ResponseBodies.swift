import Engine
import Foundation

/// Token counts of an answer.
struct Usage: Encodable {
    var promptTokens = 0
    var completionTokens = 0
    var totalTokens: Int { promptTokens + completionTokens }

    mutating func add(prompt: Int, completion: Int) {
        promptTokens += prompt
        completionTokens += completion
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens"
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(promptTokens, forKey: .promptTokens)
        try c.encode(completionTokens, forKey: .completionTokens)
        try c.encode(totalTokens, forKey: .totalTokens)
    }
}

/// The extra field of each choice (`drllm`): the path its sequence ran and what it cost. Clients
/// that do not know it ignore it.
struct PathReport: Encodable {
    /// Blocks in execution order (a repeated block appears twice).
    var path: [Int]
    /// Block applications per token along the path.
    var layersPerToken: Int
    /// Block applications over all forward passes of this choice.
    var blockApplications: Int
    var forwardPasses: Int

    init(_ c: TokenCompletion) {
        path = c.path.blocks
        layersPerToken = c.path.count
        blockApplications = c.blockApplications
        forwardPasses = c.forwardPasses
    }

    enum CodingKeys: String, CodingKey {
        case path, layersPerToken = "layers_per_token", blockApplications = "block_applications", forwardPasses = "forward_passes"
    }
}

/// The extra top-level field (`drllm`): the policy that ran and the block applications of the answer.
struct PolicyReport: Encodable {
    var policy: String
    var blockApplications: Int

    init(_ policy: ServedPolicy, _ results: [TokenCompletion]) {
        self.policy = policy.description
        blockApplications = results.reduce(0) { $0 + $1.blockApplications }
    }

    enum CodingKeys: String, CodingKey { case policy, blockApplications = "block_applications" }
}

/// The envelope both completion endpoints answer with (`object` tells them apart).
struct AnswerBody<Choice: Encodable>: Encodable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage
    var drllm: PolicyReport
}

/// The parts of `POST /v1/completions`' answer.
enum CompletionBody {
    struct Logprobs: Encodable {
        var tokens: [String]
        var tokenLogprobs: [Double?]
        var topLogprobs: [[String: Double]?]
        var textOffset: [Int]
        enum CodingKeys: String, CodingKey {
            case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset"
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tokens, forKey: .tokens)
            // Null entries are written as null (the first prompt token has no log-probability).
            var lp = c.nestedUnkeyedContainer(forKey: .tokenLogprobs)
            for v in tokenLogprobs { if let v { try lp.encode(v) } else { try lp.encodeNil() } }
            var top = c.nestedUnkeyedContainer(forKey: .topLogprobs)
            for v in topLogprobs { if let v { try top.encode(v) } else { try top.encodeNil() } }
            try c.encode(textOffset, forKey: .textOffset)
        }
    }
    struct Choice: Encodable {
        var index: Int
        var text: String
        var logprobs: Logprobs?
        var finishReason: String
        var drllm: PathReport
        enum CodingKeys: String, CodingKey { case index, text, logprobs, finishReason = "finish_reason", drllm }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(text, forKey: .text)
            if let logprobs { try c.encode(logprobs, forKey: .logprobs) } else { try c.encodeNil(forKey: .logprobs) }
            try c.encode(finishReason, forKey: .finishReason)
            try c.encode(drllm, forKey: .drllm)
        }
    }
}

/// The parts of `POST /v1/chat/completions`' answer.
enum ChatCompletionBody {
    struct Message: Encodable {
        var role: String
        var content: String
    }
    struct TokenEntry: Encodable {
        var token: String
        var logprob: Double
        var topLogprobs: [TokenEntry]?
        enum CodingKeys: String, CodingKey { case token, logprob, topLogprobs = "top_logprobs" }
    }
    struct Logprobs: Encodable {
        var content: [TokenEntry]
    }
    struct Choice: Encodable {
        var index: Int
        var message: Message
        var logprobs: Logprobs?
        var finishReason: String
        var drllm: PathReport
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason", drllm }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(message, forKey: .message)
            if let logprobs { try c.encode(logprobs, forKey: .logprobs) } else { try c.encodeNil(forKey: .logprobs) }
            try c.encode(finishReason, forKey: .finishReason)
            try c.encode(drllm, forKey: .drllm)
        }
    }
}

/// `GET /v1/models`' answer.
struct ModelList: Encodable {
    struct Entry: Encodable {
        var id: String
        var object = "model"
        var ownedBy = "drllm-bench"
        enum CodingKeys: String, CodingKey { case id, object, ownedBy = "owned_by" }
    }
    var object = "list"
    var data: [Entry]
}

/// `GET /health`'s answer: the server is up, and what its scheduler has done.
struct HealthBody: Encodable {
    var status: String
    var model: String
    var queued: Int
    var requests: Int
    var engineCalls: Int
    var largestBatch: Int
    var refusedQueueFull: Int
    var engineSeconds: Double
    enum CodingKeys: String, CodingKey {
        case status, model, queued, requests, engineCalls = "engine_calls", largestBatch = "largest_batch",
             refusedQueueFull = "refused_queue_full", engineSeconds = "engine_seconds"
    }
}
