/// What sets one decoder architecture apart. Every supported architecture is a pre-norm decoder
/// built from the same blocks (RMSNorm, grouped-query attention with RoPE, SwiGLU feed-forward:
/// `TransformerModel.applyBlock`); an architecture says how its GGUF names its hyper-parameters
/// and which variant of those blocks it uses.
///
/// Adding an architecture is one file with a type conforming to this protocol plus its line in
/// `DecoderArchitectures.all`.
public protocol DecoderArchitecture: Sendable {
    /// The GGUF `general.architecture` value (`llama`, `qwen2`).
    static var name: String { get }
    /// How RoPE pairs the dimensions of a head.
    static var ropeLayout: RopeLayout { get }
    /// Whether Q, K and V projections carry bias vectors (`blk.N.attn_{q,k,v}.bias`, required then).
    static var attentionBiases: Bool { get }
    /// Context length assumed when the GGUF does not state one.
    static var defaultContextLength: Int { get }
}

extension DecoderArchitecture {
    public static var defaultContextLength: Int { 2048 }
}

/// The registry of supported architectures, keyed by `general.architecture`.
public enum DecoderArchitectures {
    /// Every supported architecture.
    public static let all: [any DecoderArchitecture.Type] = [Llama.self, Qwen2.self]

    /// The architecture called `name`, nil when unsupported.
    public static func named(_ name: String) -> (any DecoderArchitecture.Type)? {
        all.first { $0.name == name }
    }

    /// The supported names, for error messages.
    public static var names: [String] { all.map { $0.name } }
}
