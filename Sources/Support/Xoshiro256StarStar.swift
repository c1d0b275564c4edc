/// xoshiro256** (Blackman & Vigna 2018): a small, fast, seeded generator for the bootstrap.
///
/// The state is filled from the seed with SplitMix64, as the authors recommend, so any seed
/// (including 0) gives a good stream. We use our own generator and our own bounded-integer draw
/// instead of the standard library's `SystemRandomNumberGenerator`/`random(in:using:)` so that a
/// confidence interval is reproducible bit for bit from its seed, across Swift releases.
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    public init(seed: UInt64) {
        var seeder = SplitMix64(seed: seed)
        s0 = seeder.next(); s1 = seeder.next(); s2 = seeder.next(); s3 = seeder.next()
    }

    /// A generator with an explicit state (for checking against the reference implementation).
    /// The state must not be all zero.
    public init(state: (UInt64, UInt64, UInt64, UInt64)) {
        precondition(state != (0, 0, 0, 0), "xoshiro256** state must not be all zero")
        (s0, s1, s2, s3) = state
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
