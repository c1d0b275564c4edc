import Engine
import Foundation

/// The backends a run can evaluate a model with, chosen on the command line (`--backend`).
///
/// A backend is anything conforming to `LanguageModel`; adding one (e.g. a model served over
/// HTTP) is a case here, its construction in `make`, and its type.
public enum Backend: String, CaseIterable, Sendable {
    /// This package's engine: GGUF weights on the CPU; the only routable backend.
    case native

    /// The model behind this backend.
    public func make(model: ResolvedModel, threads: Int) throws -> any LanguageModel {
        switch self {
        case .native: return try TransformerModel(path: model.path, name: model.name, threads: threads)
        }
    }
}
