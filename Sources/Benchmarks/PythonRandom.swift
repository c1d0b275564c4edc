/// CPython's `random.Random`, bit for bit: MT19937 seeded from an integer the way CPython seeds it
/// (`init_by_array` over the 32-bit words of |seed|), `getrandbits`, `_randbelow`, `shuffle` and
/// `sample`.
///
/// lm-eval draws few-shot examples with `random.Random(1234).sample(pool, n)` and GPQA shuffles
/// its answers with the global generator seeded 0, so reproducing its prompts needs the exact
/// draws, not merely a good generator. The algorithms below follow CPython's `_randommodule.c`
/// and `random.py`, which have not changed since Python 3.2.
public struct PythonRandom: Sendable {
    private static let stateSize = 624
    private var state: [UInt32]
    private var position: Int

    /// `random.Random(seed)` for an integer seed.
    public init(seed: Int) {
        state = [UInt32](repeating: 0, count: Self.stateSize)
        position = Self.stateSize
        // CPython uses the absolute value, split into little-endian 32-bit words (at least one).
        var magnitude = seed.magnitude
        var key: [UInt32] = []
        repeat {
            key.append(UInt32(truncatingIfNeeded: magnitude))
            magnitude >>= 32
        } while magnitude != 0
        initialise(byArray: key)
    }

    private mutating func initialise(seed: UInt32) {
        state[0] = seed
        for index in 1..<Self.stateSize {
            let previous = state[index - 1]
            state[index] = 1_812_433_253 &* (previous ^ (previous >> 30)) &+ UInt32(index)
        }
        position = Self.stateSize
    }

    private mutating func initialise(byArray key: [UInt32]) {
        initialise(seed: 19_650_218)
        var i = 1
        var j = 0
        for _ in 0..<max(Self.stateSize, key.count) {
            let previous = state[i - 1]
            state[i] = (state[i] ^ ((previous ^ (previous >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= Self.stateSize { state[0] = state[Self.stateSize - 1]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<(Self.stateSize - 1) {
            let previous = state[i - 1]
            state[i] = (state[i] ^ ((previous ^ (previous >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= Self.stateSize { state[0] = state[Self.stateSize - 1]; i = 1 }
        }
        state[0] = 0x8000_0000
    }

    private mutating func twist() {
        let upperMask: UInt32 = 0x8000_0000, lowerMask: UInt32 = 0x7fff_ffff, matrixA: UInt32 = 0x9908_b0df
        for index in 0..<Self.stateSize {
            let y = (state[index] & upperMask) | (state[(index + 1) % Self.stateSize] & lowerMask)
            state[index] = state[(index + 397) % Self.stateSize] ^ (y >> 1) ^ ((y & 1) == 0 ? 0 : matrixA)
        }
        position = 0
    }

    /// The next raw 32-bit output (`genrand_uint32`).
    public mutating func nextUInt32() -> UInt32 {
        if position >= Self.stateSize { twist() }
        var y = state[position]
        position += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        y ^= y >> 18
        return y
    }

    /// `getrandbits(k)` for 0 ≤ k ≤ 64.
    public mutating func randomBits(_ k: Int) -> UInt64 {
        precondition((0...64).contains(k), "randomBits supports 0...64 bits")
        if k == 0 { return 0 }
        if k <= 32 { return UInt64(nextUInt32() >> UInt32(32 - k)) }
        // CPython fills 32-bit words from the least significant end; the last word keeps its top bits.
        let low = UInt64(nextUInt32())
        let high = UInt64(nextUInt32() >> UInt32(64 - k))
        return low | (high << 32)
    }

    /// `_randbelow(n)`: uniform in `0..<n` by rejection sampling on `n.bit_length()` bits.
    public mutating func randomBelow(_ n: Int) -> Int {
        precondition(n > 0, "randomBelow needs n > 0")
        let bits = Int.bitWidth - n.leadingZeroBitCount
        var r = randomBits(bits)
        while r >= UInt64(n) { r = randomBits(bits) }
        return Int(r)
    }

    /// `random()`: a double in [0, 1) from 53 random bits.
    public mutating func randomDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864.0 + b) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `shuffle(x)`: Fisher–Yates from the end, as CPython does it.
    public mutating func shuffle<Element>(_ elements: inout [Element]) {
        guard elements.count > 1 else { return }
        for i in stride(from: elements.count - 1, through: 1, by: -1) {
            let j = randomBelow(i + 1)
            elements.swapAt(i, j)
        }
    }

    /// `sample(range(populationCount), k)`: the indices CPython's `sample` picks, in pick order.
    ///
    /// CPython switches between a pool algorithm and a set-rejection algorithm depending on the
    /// sizes; the two consume the generator differently, so both are reproduced.
    public mutating func sampleIndices(populationCount n: Int, count k: Int) -> [Int] {
        precondition(k >= 0 && k <= n, "Sample larger than population or is negative")
        var setSize = 21
        if k > 5 {
            // 4 ** ceil(log(k * 3, 4)); k * 3 is never a power of 4, so the float log is safe.
            let exponent = Int((log(Double(k * 3)) / log(4.0)).rounded(.up))
            setSize += 1 << (2 * exponent)
        }
        var result: [Int] = []
        result.reserveCapacity(k)
        if n <= setSize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = randomBelow(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = randomBelow(n)
                while selected.contains(j) { j = randomBelow(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }

    /// `sample(population, k)`.
    public mutating func sample<Element>(_ population: [Element], count k: Int) -> [Element] {
        sampleIndices(populationCount: population.count, count: k).map { population[$0] }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
