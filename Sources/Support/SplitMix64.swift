/// A small, seeded, repeatable random number generator (SplitMix64, Steele et al. 2014).
///
/// Everything random in routing and supervision (router initialisation, MCTS action order, data
/// splits and shuffles) draws from one of these, so results depend only on the seed. The
/// bounded-integer draw (`nextInt(below:)`) and the unit-interval helpers are our own rather than
/// the standard library's `random(in:using:)`, whose algorithm is not promised to stay the same
/// across Swift releases.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// Creates a generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Fisher–Yates shuffle in place, drawing from this generator.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { array.swapAt(i, j) }
        }
    }

    /// The Fisher–Yates variant that picks `j = next() % (i + 1)`: slightly modulo-biased.
    ///
    /// Kept only because the committed MCTS supervision files sampled their training examples with
    /// it (`SupervisionGenerator.plan`); changing the draw would change which examples a seed picks.
    /// New code uses the unbiased `shuffle(_:)`.
    public mutating func moduloBiasedShuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            array.swapAt(i, j)
        }
    }

    /// A seed derived from `base` and a label, so independent streams (per layer, per example,
    /// per purpose) do not depend on how many numbers other streams consumed.
    ///
    /// The label is hashed with FNV-1a (stable across runs and platforms, unlike `Hasher`).
    public static func derive(_ base: UInt64, _ label: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        var mixer = SplitMix64(seed: base ^ h)
        return mixer.next()
    }
}
