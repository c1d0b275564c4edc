import Engine
import Foundation
import OpenAIBackend

/// The backends a run can evaluate a model with, chosen on the command line (`--backend`).
///
/// A backend is anything conforming to `LanguageModel`; adding one is a case here, its
/// construction in `make`, and what identifies it in a run's configuration in `settings`.
public enum Backend: Sendable, Equatable {
    /// This package's engine: GGUF weights on the CPU; the only routable backend.
    case native
    /// A model behind an OpenAI-compatible completions server; `ResolvedModel.path` is the GGUF
    /// whose tokenizer and context length stand for the served model's.
    case openAI(OpenAIServer)

    /// The names `--backend` takes.
    public static let names = ["native", "openai"]

    /// The model behind this backend.
    public func make(model: ResolvedModel, threads: Int) throws -> any LanguageModel {
        switch self {
        case .native: return try TransformerModel(path: model.path, name: model.name, threads: threads)
        case let .openAI(server): return try OpenAICompletionsModel(name: model.name, server: server, tokenizerGGUF: model.path)
        }
    }

    /// Whether the model's weights are the local GGUF (so its sha256 identifies them).
    public var weightsAreLocal: Bool { self == .native }

    /// What a run's configuration records of the backend (checked on resume like any setting):
    /// nothing for the native engine; the server's host, the served model name and the prompt
    /// encoding otherwise (never the API key).
    public var settings: [String: String] {
        switch self {
        case .native: return [:]
        case let .openAI(server):
            return ["backend": "openai", "server": server.hostDescription, "served_model": server.servedModel,
                    "prompt_encoding": server.promptEncoding.rawValue]
        }
    }
}
