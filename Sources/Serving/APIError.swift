import Foundation

/// An error answer in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` with its
/// HTTP status. Every refusal of the server is one of these; nothing else reaches a client.
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?

    public init(status: Int, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    public var description: String { "HTTP \(status) \(type): \(message)" }

    /// A request the server will not run as sent (400).
    public static func invalid(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: 400, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// A field of the wrong JSON type.
    static func wrongType(_ param: String, expected: String, found: RequestJSON) -> APIError {
        .invalid("'\(param)' must be \(expected), not \(found.typeName)", param: param, code: "invalid_type")
    }

    /// A sampling setting or feature this engine does not offer (it decodes greedily, one choice).
    static func unsupported(_ param: String, _ reason: String) -> APIError {
        .invalid("'\(param)' \(reason)", param: param, code: "unsupported_parameter")
    }

    static let unauthorized = APIError(status: 401, message: "Incorrect API key provided: pass it as 'Authorization: Bearer <key>'",
                                       type: "invalid_request_error", code: "invalid_api_key")
    static func notFound(_ path: String) -> APIError {
        APIError(status: 404, message: "no route for \(path); this server offers GET /health, GET /v1/models, POST /v1/completions and POST /v1/chat/completions",
                 type: "invalid_request_error", code: "not_found")
    }
    static func methodNotAllowed(_ method: String, _ path: String) -> APIError {
        APIError(status: 405, message: "\(method) is not allowed on \(path)", type: "invalid_request_error", code: "method_not_allowed")
    }
    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: 413, message: "the request body is larger than this server's limit of \(limit) bytes",
                 type: "invalid_request_error", code: "request_too_large")
    }
    static func queueFull(capacity: Int) -> APIError {
        APIError(status: 429, message: "the server's queue is full (\(capacity) requests waiting); retry later",
                 type: "rate_limit_error", code: "queue_full")
    }
    static func internalError(_ message: String) -> APIError {
        APIError(status: 500, message: message, type: "server_error")
    }

    /// The answer's body.
    public var body: Data {
        var error: [String: Any] = ["message": message, "type": type]
        error["param"] = param ?? NSNull()
        error["code"] = code ?? NSNull()
        return (try? JSONSerialization.data(withJSONObject: ["error": error], options: [.sortedKeys])) ?? Data()
    }
}
