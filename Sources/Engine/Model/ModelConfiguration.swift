/// The rotation layout RoPE uses for an architecture.
public enum RopeLayout: String, Sendable {
    /// Adjacent pairs (x[2i], x[2i+1]) rotate together: llama GGUFs (Q/K rows permuted at conversion).
    case interleaved
    /// Halves (x[i], x[i+n/2]) rotate together: qwen2 ("NEOX" in ggml).
    case neox
}

/// Hyper-parameters of a decoder read from GGUF metadata, under its architecture's key prefix
/// (`<architecture>.block_count`, …, the GGUF convention every architecture follows).
public struct ModelConfiguration: Sendable, Equatable {
    /// `general.architecture`: a name from `DecoderArchitectures`.
    public var architecture: String
    public var layerCount: Int
    public var width: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var feedForwardWidth: Int
    public var vocabularySize: Int
    public var contextLength: Int
    public var rmsEpsilon: Float
    public var ropeBase: Double
    public var ropeLayout: RopeLayout
    /// Whether the attention projections carry biases (see `DecoderArchitecture`).
    public var attentionBiases: Bool

    /// Width of the K and V projections.
    public var kvWidth: Int { kvHeadCount * headDimension }

    /// Reads the configuration of `file`; an architecture missing from `DecoderArchitectures` is
    /// refused with the list of supported ones.
    public init(gguf file: GGUFFile) throws(GGUFError) {
        let arch = try file.string("general.architecture")
        guard let kind = DecoderArchitectures.named(arch) else {
            throw .unsupportedArchitecture(file: file.path, architecture: arch)
        }
        architecture = arch
        ropeLayout = kind.ropeLayout
        attentionBiases = kind.attentionBiases
        layerCount = try file.int("\(arch).block_count")
        width = try file.int("\(arch).embedding_length")
        headCount = try file.int("\(arch).attention.head_count")
        kvHeadCount = try file.optionalInt("\(arch).attention.head_count_kv") ?? headCount
        feedForwardWidth = try file.int("\(arch).feed_forward_length")
        contextLength = try file.optionalInt("\(arch).context_length") ?? kind.defaultContextLength
        rmsEpsilon = Float(try file.optionalDouble("\(arch).attention.layer_norm_rms_epsilon") ?? 1e-5)
        ropeBase = try file.optionalDouble("\(arch).rope.freq_base") ?? 10000
        guard layerCount > 0, width > 0, headCount > 0, kvHeadCount > 0, width % headCount == 0,
              headCount % kvHeadCount == 0, feedForwardWidth > 0 else {
            throw .badTensorShape(file: file.path, tensor: "(hyper-parameters)",
                                  reason: "inconsistent sizes: layers \(layerCount), width \(width), heads \(headCount)/\(kvHeadCount)")
        }
        headDimension = try file.optionalInt("\(arch).attention.key_length") ?? (width / headCount)
        guard let emb = file.tensor(named: "token_embd.weight") else {
            throw .missingTensor(file: file.path, tensor: "token_embd.weight")
        }
        vocabularySize = emb.shape.count > 1 ? emb.shape[1] : 0
    }
}
