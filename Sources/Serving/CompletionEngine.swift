import Benchmarks
import Engine
import Foundation

/// What the server runs requests on: the native engine, or a test double. Called from one
/// thread at a time (the scheduler's worker), so an implementation need not be thread-safe.
public protocol CompletionEngine: AnyObject {
    /// The model's name.
    var name: String { get }
    /// Its number of blocks.
    var layerCount: Int { get }
    /// Its context window in tokens.
    var contextLength: Int { get }
    /// Its tokenizer (text prompts, token strings in log-probabilities).
    var tokenizer: BPETokenizer { get }
    /// Runs completions under `policy`; each answer must not depend on the others of the call.
    func complete(_ requests: [TokenCompletionRequest], policy: LayerPolicy) throws -> [TokenCompletion]
}

extension TransformerModel: CompletionEngine {
    public var contextLength: Int { configuration.contextLength }
}
