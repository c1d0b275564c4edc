import Foundation

/// How prompts travel to the server.
public enum PromptEncoding: String, CaseIterable, Sendable, Codable {
    /// Token ids from our tokenizer, as lm-eval's `local-completions` sends them (vLLM, SGLang,
    /// `bench serve`): the context/continuation boundary is exactly ours.
    case tokens
    /// The text; the server tokenises it and its token count is checked against ours
    /// (llama.cpp's servers accept only text prompts).
    case text
}

/// An OpenAI-compatible completions server and how to talk to it.
public struct OpenAIServer: Sendable, Equatable {
    /// Base URL up to and including the API version, e.g. `http://127.0.0.1:8000/v1`.
    public var baseURL: URL
    /// The `model` field of every request.
    public var servedModel: String
    /// Bearer token, when the server wants one.
    public var apiKey: String?
    /// Requests in flight at once.
    public var concurrency: Int
    /// Seconds one HTTP request may take before it is abandoned (and retried).
    public var timeoutSeconds: Double
    /// Attempts after the first for connection errors, timeouts, 408, 429 and 5xx answers.
    public var retries: Int
    /// Seconds before the first retry; doubled at each further one, capped at 30 s.
    public var initialBackoffSeconds: Double
    /// Token ids or text.
    public var promptEncoding: PromptEncoding

    public init(baseURL: URL, servedModel: String, apiKey: String? = nil, concurrency: Int = 4,
                timeoutSeconds: Double = 600, retries: Int = 5, initialBackoffSeconds: Double = 0.5,
                promptEncoding: PromptEncoding = .tokens) {
        self.baseURL = baseURL
        self.servedModel = servedModel
        self.apiKey = apiKey
        self.concurrency = max(1, concurrency)
        self.timeoutSeconds = timeoutSeconds
        self.retries = max(0, retries)
        self.initialBackoffSeconds = initialBackoffSeconds
        self.promptEncoding = promptEncoding
    }

    /// Parses `--base-url`: http or https with a host; a missing `/v1` is not added (servers
    /// differ), but a trailing slash is dropped.
    public static func parseBaseURL(_ text: String) throws(OpenAIBackendError) -> URL {
        var t = text
        while t.hasSuffix("/") { t.removeLast() }
        guard let url = URL(string: t), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw .invalidBaseURL(text)
        }
        return url
    }

    /// `host:port` of the base URL: what a run's configuration records (never the API key).
    public var hostDescription: String {
        let host = baseURL.host ?? "?"
        return baseURL.port.map { "\(host):\($0)" } ?? host
    }

    /// The URL of an endpoint below the base (`completions`).
    func url(_ endpoint: String) -> URL { baseURL.appendingPathComponent(endpoint) }
}
