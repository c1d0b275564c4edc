/// Windowed mean pooling of a prompt's hidden states: the router's input summary (docs/METHOD.md §1).
///
/// With `T` prompt tokens and at most `maxWindows` windows, `W = min(maxWindows, T)` contiguous
/// windows of `⌊T/W⌋` tokens each are formed from the start of the prompt; the trailing remainder
/// (`T mod W` tokens) is dropped, exactly as the released code does. Each window is mean-pooled to a
/// `width`-vector.
///
/// The harness must pool teacher-forced hidden states for training with this same function, so
/// training inputs and routing inputs agree bit for bit.
public enum WindowPooling {
    /// Number of windows for a prompt of `tokens` tokens (0 when there are no tokens).
    public static func windowCount(tokens: Int, maxWindows: Int) -> Int {
        max(0, min(maxWindows, tokens))
    }

    /// Tokens per window (0 when there are no tokens).
    public static func windowSize(tokens: Int, maxWindows: Int) -> Int {
        let w = windowCount(tokens: tokens, maxWindows: maxWindows)
        return w == 0 ? 0 : tokens / w
    }

    /// Mean-pools `hidden` (`[tokens × width]`, row-major) into `[W × width]` window vectors.
    ///
    /// Sums run over the window's tokens in order and in `Double`, then round once to `Float`:
    /// a window can hold hundreds of tokens, and one rounding keeps the pooled vector as exact
    /// (and as order-independent in practice) as the inputs allow.
    public static func pool(hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int,
                            maxWindows: Int) -> [Float] {
        precondition(tokens >= 0 && width > 0 && maxWindows > 0, "pool: invalid shape")
        precondition(hidden.count >= tokens * width,
                     "pool: hidden holds \(hidden.count) floats, expected \(tokens) × \(width)")
        let w = windowCount(tokens: tokens, maxWindows: maxWindows)
        guard w > 0 else { return [] }
        let size = tokens / w
        var out = [Float](repeating: 0, count: w * width)
        let divisor = Double(size)
        // Unchecked pointers let the per-feature loops vectorise; each feature is still summed
        // over tokens in order.
        withUnsafeTemporaryAllocation(of: Double.self, capacity: width) { acc in
            out.withUnsafeMutableBufferPointer { out in
                let h = hidden.baseAddress!
                for window in 0..<w {
                    for k in 0..<width { acc[k] = 0 }
                    for t in (window * size)..<((window + 1) * size) {
                        let row = h + t * width
                        for k in 0..<width { acc[k] += Double(row[k]) }
                    }
                    let base = window * width
                    for k in 0..<width { out[base + k] = Float(acc[k] / divisor) }
                }
            }
        }
        return out
    }

    /// Convenience overload for an array of hidden states.
    public static func pool(hidden: [Float], tokens: Int, width: Int, maxWindows: Int) -> [Float] {
        hidden.withUnsafeBufferPointer { pool(hidden: $0, tokens: tokens, width: width, maxWindows: maxWindows) }
    }
}
