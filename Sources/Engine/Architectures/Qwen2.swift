/// Qwen2 and Qwen2.5: biases on the Q, K and V projections; RoPE rotates the two halves of each
/// head ("NEOX" in ggml).
public enum Qwen2: DecoderArchitecture {
    public static let name = "qwen2"
    public static let ropeLayout = RopeLayout.neox
    public static let attentionBiases = true
}
