/// Llama (and SmolLM2, which ships as `llama`): no attention biases; GGUF conversion permutes the
/// Q/K rows so RoPE rotates adjacent pairs.
public enum Llama: DecoderArchitecture {
    public static let name = "llama"
    public static let ropeLayout = RopeLayout.interleaved
    public static let attentionBiases = false
}
