import Support

/// Deterministic mutations of byte strings for the bounded fuzz tests of every reader of
/// untrusted bytes (request bodies, GGUF headers, task data): a fixed seed gives the same inputs
/// on every run, so a failure reproduces.
public struct ByteMutator {
    private var random: SplitMix64

    public init(seed: UInt64) { random = SplitMix64(seed: seed) }

    /// A uniform integer in `0..<n` (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(random.next() % UInt64(max(1, n))) }

    /// Values that break parsers: boundaries of integer types, zero, all bits set.
    static let interestingIntegers: [UInt64] = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff,
                                                 0x1_0000_0000, 0x7fff_ffff_ffff_ffff, .max, 1 << 40]

    /// `bytes` with 1 to 4 random edits, each at a position in `region` (default: anywhere):
    /// bit flips, random or boundary bytes, little-endian boundary integers, insertions,
    /// deletions, duplicated ranges, truncation, or a splice of one of `dictionary`'s tokens.
    public mutating func mutate(_ bytes: [UInt8], region: Range<Int>? = nil, dictionary: [[UInt8]] = []) -> [UInt8] {
        var out = bytes
        for _ in 0..<(1 + below(4)) {
            let area = region.map { $0.clamped(to: 0..<max(1, out.count)) } ?? 0..<max(1, out.count)
            let at = area.lowerBound + below(max(1, area.count))
            switch below(dictionary.isEmpty ? 9 : 10) {
            case 0 where at < out.count: out[at] ^= UInt8(1 << below(8))
            case 1 where at < out.count: out[at] = UInt8(truncatingIfNeeded: random.next())
            case 2 where at < out.count: out[at] = [0, 0xff, 0x7f, 0x80, 0x22, 0x5c, 0x2c, 0x0a][below(8)]
            case 3:
                let width = [1, 2, 4, 8][below(4)]
                let value = Self.interestingIntegers[below(Self.interestingIntegers.count)]
                for k in 0..<width where at + k < out.count { out[at + k] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(k))) }
            case 4:
                let count = 1 + below(16)
                out.insert(contentsOf: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: min(at, out.count))
            case 5 where at < out.count: out.removeSubrange(at..<min(out.count, at + 1 + below(64)))
            case 6 where at < out.count:
                let end = min(out.count, at + 1 + below(256))
                out.insert(contentsOf: out[at..<end], at: end)
            case 7: out.removeSubrange(min(at, out.count)...)
            case 8 where at < out.count: out.swapAt(at, (area.lowerBound + below(max(1, area.count))) % out.count)
            case 9:
                out.insert(contentsOf: dictionary[below(dictionary.count)], at: min(at, out.count))
            default: break
            }
        }
        return out
    }
}
