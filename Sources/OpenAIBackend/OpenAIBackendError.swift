import Foundation

/// Why a request through an OpenAI-compatible server failed: each says which server, what was
/// asked, and what to do about it.
public enum OpenAIBackendError: LocalizedError, Equatable {
    case invalidBaseURL(String)
    /// No answer after every retry (connection refused, reset, timed out, or 408/429/5xx).
    case unreachable(url: String, attempts: Int, lastError: String)
    /// An answer the server will not change by retrying (4xx other than 408/429).
    case rejected(url: String, status: Int, message: String)
    /// The body is not the completions response the API defines.
    case malformedResponse(url: String, reason: String)
    /// Loglikelihood needs the prompt tokens' log-probabilities (`echo` with `logprobs`).
    case noPromptLogprobs(url: String, detail: String)
    /// The echoed log-probabilities are not those of the tokens they stand beside.
    case misalignedPromptLogprobs(url: String, detail: String)
    /// The server split a text prompt into another number of tokens than our tokenizer.
    case tokenizationMismatch(url: String, ours: Int, theirs: Int, text: String)
    /// The server refused token-id prompts; `--prompt-encoding text` sends text instead.
    case tokenPromptsRefused(url: String, status: Int, message: String)

    public var errorDescription: String? {
        switch self {
        case let .invalidBaseURL(text):
            return "--base-url '\(text)' is not an http(s) URL with a host (expected e.g. http://127.0.0.1:8000/v1)"
        case let .unreachable(url, attempts, lastError):
            return "\(url): no answer after \(attempts) attempt\(attempts == 1 ? "" : "s") (last: \(lastError)); "
                + "is the server running? Records written so far are kept: rerun the same command to resume."
        case let .rejected(url, status, message):
            return "\(url) answered HTTP \(status): \(message)"
        case let .malformedResponse(url, reason):
            return "\(url): the answer is not an OpenAI completions response: \(reason)"
        case let .noPromptLogprobs(url, detail):
            return "\(url) returns no log-probabilities for prompt tokens (echo with logprobs), which loglikelihood "
                + "tasks need: \(detail). Generation tasks still work through this server."
        case let .misalignedPromptLogprobs(url, detail):
            return "\(url) echoes prompt log-probabilities that belong to the next position, not to the token they "
                + "stand beside (\(detail)); loglikelihood scores from it would be wrong, so none are taken. "
                + "llama-cpp-python's server has this fault (abetlen/llama-cpp-python#1983); "
                + "scripts/openai/llama_cpp_server.py --fix-echo-logprobs starts it with the fault corrected."
        case let .tokenizationMismatch(url, ours, theirs, text):
            return "\(url) split a prompt into \(theirs) tokens where the tokenizer gives \(ours) "
                + "(prompt ending \(String(text.suffix(60)).debugDescription)); pass the served model's GGUF as --tokenizer"
        case let .tokenPromptsRefused(url, status, message):
            return "\(url) refused a prompt of token ids (HTTP \(status): \(message)); rerun with --prompt-encoding text"
        }
    }
}
