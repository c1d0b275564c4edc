// Dequantisation and fused "dequantise inside the dot product" kernels for the ggml block formats.
//
// Everything hot lives in this one file on purpose: debug builds compile the Engine module with
// -O but without whole-module optimisation, and generic decoders are only specialised and
// inlined into the kernels when both are visible in the same file.
//
// Arithmetic contract
// -------------------
// * Dequantisation reproduces llama.cpp's reference `dequantize_row_*` (ggml/src/ggml-quants.c)
//   bit for bit: the same float operations in the same order, each rounded separately (Swift
//   never contracts `a * b + c` into a fused multiply-add, and neither does the C reference when
//   built without -ffp-contract).
// * Every dot product, whatever the weight type, is evaluated in one canonical order: with the
//   dequantised row w and the vector x, lane i of accumulator `low` sums w[k]·x[k] over
//   k = 32p + i for p = 0, 1, 2, … in order, lane i of `high` sums k = 32p + 16 + i, and the final
//   value is a fixed pairwise tree over the 16 lanes of `low + high`. Nothing in that order
//   depends on the batch size or on which rows are computed, so results are bitwise reproducible
//   across batch sizes, row splits and thread counts, and a quantised matrix gives exactly the
//   same result as the F32 matrix holding its dequantised weights.

// MARK: - Half precision

/// Sixteen binary16 values (zero-extended to 32-bit lanes) widened exactly to Float.
/// Three cases (zero/subnormal, normal, infinity/NaN), evaluated for all lanes and blended with
/// arithmetic masks: Swift's `SIMDMask`/`replacing(with:where:)` compile to per-lane loops here.
@inline(__always)
private func floatsFromHalfBits(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
    let magnitudeBits = h & 0x7FFF
    let sign = (h & 0x8000) &<< 16
    // All-ones where the value is infinite or NaN (magnitude ≥ 0x7C00 sets bit 15 of +0x400)…
    let special = SIMD16<UInt32>.zero &- ((magnitudeBits &+ 0x0400) &>> 15)
    // …and where it is zero or subnormal (magnitude < 0x400 makes the difference wrap).
    let subnormal = SIMD16<UInt32>.zero &- ((magnitudeBits &- 0x0400) &>> 31)
    // Normal numbers rebias the exponent by +112; inf/NaN need another +112 to reach 255.
    let normalBits = (magnitudeBits &<< 13) &+ 0x3800_0000 &+ (special & 0x3800_0000)
    let subnormalValue = floats(unsafeBitCast(magnitudeBits, to: SIMD16<Int32>.self)) * 0x1p-24
    let subnormalBits = unsafeBitCast(subnormalValue, to: SIMD16<UInt32>.self)
    let bits = (normalBits & ~subnormal) | (subnormalBits & subnormal)
    return unsafeBitCast(bits | sign, to: SIMD16<Float>.self)
}

/// bfloat16 is the upper half of a binary32, so widening is a shift.
@inline(__always)
private func floatFromBFloat16Bits(_ h: UInt16) -> Float {
    Float(bitPattern: UInt32(h) << 16)
}

@inline(__always)
private func floatsFromBFloat16Bits(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
    unsafeBitCast(h &<< 16, to: SIMD16<Float>.self)
}

/// A block's f16 scale, widened exactly.
///
/// Through `Float16` on purpose: the package always builds for a CPU with F16C (`Package.swift`
/// picks haswell or znver4), where this is one `vcvtph2ps` instead of a dozen scalar integer
/// instructions and a branch: SmolLM2's decode got 1.4× faster. Exact for every value
/// (`testF16WideningIsExactForAllValues`).
@inline(__always)
private func loadHalf(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

@inline(__always)
private func loadFloats(_ p: UnsafeRawPointer, _ offset: Int = 0) -> SIMD16<Float> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
}

@inline(__always)
private func loadBytes(_ p: UnsafeRawPointer, _ offset: Int) -> SIMD16<UInt8> {
    p.loadUnaligned(fromByteOffset: offset, as: SIMD16<UInt8>.self)
}

// Lane conversions written as lane loops on purpose: LLVM turns these into a few unpack and
// convert instructions inline, whereas the standard library's generic SIMD conversion
// initialisers end up as out-of-line calls, and every call spills all live vector registers.

@inline(__always)
private func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

@inline(__always)
private func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> {
    // Via the unsigned value v + 128 (flipping the sign bit), then an exact -128: SSE2 has no
    // sign-extending widen, and LLVM's emulation (unpack into an undefined register, then an
    // arithmetic shift) creates a false dependency on that register across loop iterations.
    floats(unsafeBitCast(v, to: SIMD16<UInt8>.self) ^ 0x80) - 128
}

@inline(__always)
private func floats(_ v: SIMD16<Int32>) -> SIMD16<Float> {
    var r = SIMD16<Float>()
    for i in 0..<16 { r[i] = Float(v[i]) }
    return r
}

@inline(__always)
private func widened(_ v: SIMD16<UInt8>) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(v[i]) }
    return r
}

@inline(__always)
private func widened(_ v: SIMD16<UInt16>) -> SIMD16<UInt32> {
    var r = SIMD16<UInt32>()
    for i in 0..<16 { r[i] = UInt32(v[i]) }
    return r
}

// MARK: - Weight pairs and the canonical dot product

/// Thirty-two consecutive weights (or activations): elements 0..<16 in `low`, 16..<32 in `high`.
/// Also the dot-product accumulator, whose lanes follow the same split (see the contract above).
private struct WeightPair {
    var low: SIMD16<Float>
    var high: SIMD16<Float>

    static var zero: WeightPair { WeightPair(low: .zero, high: .zero) }

    /// Loads 32 contiguous floats.
    @inline(__always)
    init(loading p: UnsafeRawPointer) {
        low = loadFloats(p, 0)
        high = loadFloats(p, 64)
    }

    @inline(__always)
    init(low: SIMD16<Float>, high: SIMD16<Float>) {
        self.low = low
        self.high = high
    }

    /// `count` (< 32) floats followed by zeros, for a row tail that is not a whole pair.
    @inline(__always)
    init(loadingPartial p: UnsafePointer<Float>, count: Int) {
        self = .zero
        for i in 0..<count {
            if i < 16 { low[i] = p[i] } else { high[i - 16] = p[i] }
        }
    }

    /// Adds w ⊙ x lane-wise: one multiply and one add per lane, separately rounded.
    @inline(__always)
    mutating func accumulate(_ w: WeightPair, _ x: UnsafePointer<Float>) {
        let raw = UnsafeRawPointer(x)
        low += w.low * loadFloats(raw, 0)
        high += w.high * loadFloats(raw, 64)
    }

    /// The fixed reduction tree of an accumulator.
    @inline(__always)
    func reduced() -> Float {
        let s16 = low + high
        let s8 = s16.lowHalf + s16.highHalf
        let s4 = s8.lowHalf + s8.highHalf
        let s2 = s4.lowHalf + s4.highHalf
        return s2[0] + s2[1]
    }
}

// MARK: - Decoders

/// A format whose weights decode 32 at a time without scratch memory: the legacy 32-element
/// block quants, and the element-wise float formats read 32 elements at a time.
private protocol PairDecoder {
    /// Bytes holding 32 consecutive weights.
    static var bytesPerPair: Int { get }
    /// Decodes 32 consecutive weights starting at `p` (`lanes`: see `LaneConstants`).
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair
    /// Decodes `count` (< 32) weights, padding with zeros. Only element-wise formats have rows
    /// that are not whole pairs; block formats never get here.
    static func decodePartialPair(_ p: UnsafeRawPointer, count: Int) -> WeightPair
}

private extension PairDecoder {
    static func decodePartialPair(_ p: UnsafeRawPointer, count: Int) -> WeightPair {
        preconditionFailure("a block format row is always whole blocks")
    }
}

/// A 256-element super-block format (k-quants), decoded a block at a time into scratch memory.
private protocol SuperBlockDecoder {
    static var bytesPerBlock: Int { get }
    /// Writes the block's 256 weights to `out`.
    static func decodeBlock(_ p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>)
}

/// Q4_0: f16 d, 16 bytes of nibbles; w[j] = (lowNibble[j] - 8)·d, w[j+16] = (highNibble[j] - 8)·d.
private enum Q4_0Decoder: PairDecoder {
    static var bytesPerPair: Int { 18 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let d = loadHalf(p, 0)
        let q = loadBytes(p, 2)
        // Subtracting 8 from a small integer-valued float is exact, so this is (q - 8)·d.
        return WeightPair(low: (floats(q & 0x0F) - 8) * d, high: (floats(q &>> 4) - 8) * d)
    }
}

/// Q4_1: f16 d, f16 m, 16 bytes of nibbles; w = nibble·d + m.
private enum Q4_1Decoder: PairDecoder {
    static var bytesPerPair: Int { 20 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let d = loadHalf(p, 0)
        let m = loadHalf(p, 2)
        let q = loadBytes(p, 4)
        return WeightPair(low: floats(q & 0x0F) * d + m, high: floats(q &>> 4) * d + m)
    }
}

/// The 32 five-bit values of a Q5 block, as exact integers in 32-bit lanes: nibbles from the 16
/// bytes at `nibbles` (element j in the low nibble of byte j, element j+16 in its high nibble), the
/// fifth bit of element j from bit j of `qh`.
///
/// Worked in 32-bit lanes on purpose: one broadcast of `qh` and one per-lane variable shift
/// (`vpsrlvd`) per half replace the byte shuffles, inserts and extracts a byte-lane version
/// compiles to; this decode is most of Qwen2.5's decode time (its 896-column matrices are Q5_0).
@inline(__always)
private func q5Values(_ p: UnsafeRawPointer, qh: UInt32, nibbles: Int,
                      _ lanes: LaneConstants) -> (low: SIMD16<Int32>, high: SIMD16<Int32>) {
    let bits = SIMD16<UInt32>(repeating: qh)
    let bytes = widened(loadBytes(p, nibbles))
    let lowFifth = ((bits &>> lanes.lowBitShifts) & 1) &<< 4
    let highFifth = ((bits &>> lanes.highBitShifts) & 1) &<< 4
    return (unsafeBitCast((bytes & 0x0F) | lowFifth, to: SIMD16<Int32>.self),
            unsafeBitCast((bytes &>> 4) | highFifth, to: SIMD16<Int32>.self))
}

/// Per-lane constants the decoders take as values in registers rather than as immediates.
///
/// The shifts that bring bit j (`lowBitShifts`) or 16 + j (`highBitShifts`) of a Q5 block's
/// qh to bit 0 of lane j. Made once per kernel call by an opaque function on purpose: with the
/// amounts visible as constants, LLVM rewrites "shift right by j, then left by 4" lane by lane
/// into a mix of left and right shifts joined by permutes, three times the instructions of one
/// `vpsrlvd` per half, and the Q5_0 decode that is most of Qwen2.5's decode time slows by a third.
private struct LaneConstants {
    var lowBitShifts: SIMD16<UInt32>
    var highBitShifts: SIMD16<UInt32>

    @inline(never) @_optimize(none)
    static func opaque() -> LaneConstants {
        let low = SIMD16<UInt32>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        return LaneConstants(lowBitShifts: low, highBitShifts: low &+ 16)
    }
}

/// Q5_0: f16 d, u32 high bits, 16 bytes of nibbles; w = (q5 - 16)·d.
private enum Q5_0Decoder: PairDecoder {
    static var bytesPerPair: Int { 22 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let d = loadHalf(p, 0)
        let q = q5Values(p, qh: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self), nibbles: 6, lanes)
        // q5 - 16 is a small integer, exact in Int32 and in Float: the same value as the
        // reference's float subtraction.
        return WeightPair(low: floats(q.low &- 16) * d, high: floats(q.high &- 16) * d)
    }
}

/// Q5_1: f16 d, f16 m, u32 high bits, 16 bytes of nibbles; w = q5·d + m.
private enum Q5_1Decoder: PairDecoder {
    static var bytesPerPair: Int { 24 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let d = loadHalf(p, 0)
        let m = loadHalf(p, 2)
        let q = q5Values(p, qh: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self), nibbles: 8, lanes)
        return WeightPair(low: floats(q.low) * d + m, high: floats(q.high) * d + m)
    }
}

/// Q8_0: f16 d, 32 int8; w = q·d.
private enum Q8_0Decoder: PairDecoder {
    static var bytesPerPair: Int { 34 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let d = loadHalf(p, 0)
        let low = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)
        let high = p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)
        return WeightPair(low: floats(low) * d, high: floats(high) * d)
    }
}

private enum F32Decoder: PairDecoder {
    static var bytesPerPair: Int { 128 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        WeightPair(loading: p)
    }

    @inline(__always)
    static func decodePartialPair(_ p: UnsafeRawPointer, count: Int) -> WeightPair {
        WeightPair(loadingPartial: p.assumingMemoryBound(to: Float.self), count: count)
    }
}

private enum F16Decoder: PairDecoder {
    static var bytesPerPair: Int { 64 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let low = widened(p.loadUnaligned(fromByteOffset: 0, as: SIMD16<UInt16>.self))
        let high = widened(p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt16>.self))
        return WeightPair(low: floatsFromHalfBits(low), high: floatsFromHalfBits(high))
    }

    @inline(__always)
    static func decodePartialPair(_ p: UnsafeRawPointer, count: Int) -> WeightPair {
        var w = WeightPair.zero
        for i in 0..<count {
            let v = loadHalf(p, 2 * i)
            if i < 16 { w.low[i] = v } else { w.high[i - 16] = v }
        }
        return w
    }
}

private enum BF16Decoder: PairDecoder {
    static var bytesPerPair: Int { 64 }

    @inline(__always)
    static func decodePair(_ p: UnsafeRawPointer, _ lanes: LaneConstants) -> WeightPair {
        let low = widened(p.loadUnaligned(fromByteOffset: 0, as: SIMD16<UInt16>.self))
        let high = widened(p.loadUnaligned(fromByteOffset: 32, as: SIMD16<UInt16>.self))
        return WeightPair(low: floatsFromBFloat16Bits(low), high: floatsFromBFloat16Bits(high))
    }

    @inline(__always)
    static func decodePartialPair(_ p: UnsafeRawPointer, count: Int) -> WeightPair {
        var w = WeightPair.zero
        for i in 0..<count {
            let v = floatFromBFloat16Bits(p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            if i < 16 { w.low[i] = v } else { w.high[i - 16] = v }
        }
        return w
    }
}

/// The 6-bit scale and min of sub-block `j` (0..<8) of a Q4_K/Q5_K block, unpacked from the
/// 12 packed bytes at `scales` (llama.cpp's `get_scale_min_k4`).
@inline(__always)
private func kScaleMin(_ j: Int, _ scales: UnsafeRawPointer) -> (scale: UInt8, min: UInt8) {
    let q = scales.assumingMemoryBound(to: UInt8.self)
    if j < 4 {
        return (q[j] & 63, q[j + 4] & 63)
    }
    return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4),
            (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
}

/// Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles. Eight
/// 32-element sub-blocks; each 32 bytes of nibbles hold two of them (low nibbles first).
/// w = (d·scale)·q - (dmin·min).
private enum Q4_KDecoder: SuperBlockDecoder {
    static var bytesPerBlock: Int { 144 }

    @inline(__always)
    static func decodeBlock(_ p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let scales = p + 4
        for group in 0..<4 {
            let (sc1, m1) = kScaleMin(2 * group, scales)
            let (sc2, m2) = kScaleMin(2 * group + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1)
            let d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let o = UnsafeMutableRawPointer(out + 64 * group)
            for half in 0..<2 {
                let q = loadBytes(p, 16 + 32 * group + 16 * half)
                o.storeBytes(of: d1 * floats(q & 0x0F) - min1, toByteOffset: 64 * half, as: SIMD16<Float>.self)
                o.storeBytes(of: d2 * floats(q &>> 4) - min2, toByteOffset: 128 + 64 * half, as: SIMD16<Float>.self)
            }
        }
    }
}

/// Q5_K: Q4_K plus 32 bytes of fifth bits; byte l's bit 2g is element l of sub-block 2g and
/// bit 2g+1 element l of sub-block 2g+1. w = (d·scale)·q5 - (dmin·min).
private enum Q5_KDecoder: SuperBlockDecoder {
    static var bytesPerBlock: Int { 176 }

    @inline(__always)
    static func decodeBlock(_ p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p, 0)
        let dmin = loadHalf(p, 2)
        let scales = p + 4
        for group in 0..<4 {
            let (sc1, m1) = kScaleMin(2 * group, scales)
            let (sc2, m2) = kScaleMin(2 * group + 1, scales)
            let d1 = d * Float(sc1), min1 = dmin * Float(m1)
            let d2 = d * Float(sc2), min2 = dmin * Float(m2)
            let o = UnsafeMutableRawPointer(out + 64 * group)
            let shift = UInt8(2 * group)
            for half in 0..<2 {
                let qh = loadBytes(p, 16 + 16 * half)
                let ql = loadBytes(p, 48 + 32 * group + 16 * half)
                let q1 = (ql & 0x0F) | (((qh &>> shift) & 1) &<< 4)
                let q2 = (ql &>> 4) | (((qh &>> (shift + 1)) & 1) &<< 4)
                o.storeBytes(of: d1 * floats(q1) - min1, toByteOffset: 64 * half, as: SIMD16<Float>.self)
                o.storeBytes(of: d2 * floats(q2) - min2, toByteOffset: 128 + 64 * half, as: SIMD16<Float>.self)
            }
        }
    }
}

/// Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales (one per 16
/// elements), f16 d. Two 128-element halves; in each, byte l of the nibbles and of the highs
/// feeds elements l, l+32, l+64, l+96. w = (d·scale)·(q6 - 32).
private enum Q6_KDecoder: SuperBlockDecoder {
    static var bytesPerBlock: Int { 210 }

    @inline(__always)
    static func decodeBlock(_ p: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        let d = loadHalf(p, 208)
        let scales = (p + 192).assumingMemoryBound(to: Int8.self)
        for n in 0..<2 {
            let o = UnsafeMutableRawPointer(out + 128 * n)
            for half in 0..<2 {
                let l = 16 * half
                let qlA = loadBytes(p, 64 * n + l)
                let qlB = loadBytes(p, 64 * n + 32 + l)
                let qh = loadBytes(p, 128 + 32 * n + l)
                let q1 = (qlA & 0x0F) | ((qh & 0x03) &<< 4)
                let q2 = (qlB & 0x0F) | (((qh &>> 2) & 0x03) &<< 4)
                let q3 = (qlA &>> 4) | (((qh &>> 4) & 0x03) &<< 4)
                let q4 = (qlB &>> 4) | ((qh &>> 6) &<< 4)
                let sc = scales + 8 * n + half
                o.storeBytes(of: (d * Float(sc[0])) * (floats(q1) - 32), toByteOffset: 4 * l, as: SIMD16<Float>.self)
                o.storeBytes(of: (d * Float(sc[2])) * (floats(q2) - 32), toByteOffset: 4 * (l + 32), as: SIMD16<Float>.self)
                o.storeBytes(of: (d * Float(sc[4])) * (floats(q3) - 32), toByteOffset: 4 * (l + 64), as: SIMD16<Float>.self)
                o.storeBytes(of: (d * Float(sc[6])) * (floats(q4) - 32), toByteOffset: 4 * (l + 96), as: SIMD16<Float>.self)
            }
        }
    }
}

// MARK: - Dequantisation drivers

@inline(__always)
private func dequantizePairs<D: PairDecoder>(_: D.Type, _ src: UnsafeRawPointer, count: Int,
                                     _ out: UnsafeMutablePointer<Float>) {
    let lanes = LaneConstants.opaque()
    var p = src
    var o = UnsafeMutableRawPointer(out)
    for _ in 0..<(count / 32) {
        let w = D.decodePair(p, lanes)
        o.storeBytes(of: w.low, toByteOffset: 0, as: SIMD16<Float>.self)
        o.storeBytes(of: w.high, toByteOffset: 64, as: SIMD16<Float>.self)
        p += D.bytesPerPair
        o += 128
    }
    let tail = count % 32
    if tail > 0 {
        let w = D.decodePartialPair(p, count: tail)
        let t = o.assumingMemoryBound(to: Float.self)
        for i in 0..<tail { t[i] = i < 16 ? w.low[i] : w.high[i - 16] }
    }
}

@inline(__always)
private func dequantizeSuperBlocks<D: SuperBlockDecoder>(_: D.Type, _ src: UnsafeRawPointer, count: Int,
                                                 _ out: UnsafeMutablePointer<Float>) {
    for block in 0..<(count / 256) {
        D.decodeBlock(src + block * D.bytesPerBlock, into: out + 256 * block)
    }
}

/// Dequantises `count` consecutive elements of type `type` stored at `from` into `into`.
///
/// The result is bit-for-bit llama.cpp's reference `dequantize_row_*` (and gguf-py's
/// `gguf.quants.dequantize`). `from` needs no particular alignment.
/// - Precondition: `type.isSupported`, and `count` is a non-negative multiple of `type.blockSize`.
public func dequantizeRow(type: GGMLType, from: UnsafeRawPointer, count: Int,
                          into: UnsafeMutablePointer<Float>) {
    precondition(type.isSupported, "dequantisation of \(type.name) is not supported")
    precondition(count >= 0 && count % type.blockSize == 0,
                 "\(count) elements is not a whole number of \(type.name) blocks")
    switch type {
    case .f32: into.update(from: from.assumingMemoryBound(to: Float.self), count: count)
    case .f16: dequantizePairs(F16Decoder.self, from, count: count, into)
    case .bf16: dequantizePairs(BF16Decoder.self, from, count: count, into)
    case .q4_0: dequantizePairs(Q4_0Decoder.self, from, count: count, into)
    case .q4_1: dequantizePairs(Q4_1Decoder.self, from, count: count, into)
    case .q5_0: dequantizePairs(Q5_0Decoder.self, from, count: count, into)
    case .q5_1: dequantizePairs(Q5_1Decoder.self, from, count: count, into)
    case .q8_0: dequantizePairs(Q8_0Decoder.self, from, count: count, into)
    case .q4_K: dequantizeSuperBlocks(Q4_KDecoder.self, from, count: count, into)
    case .q5_K: dequantizeSuperBlocks(Q5_KDecoder.self, from, count: count, into)
    case .q6_K: dequantizeSuperBlocks(Q6_KDecoder.self, from, count: count, into)
    default: preconditionFailure("unreachable: \(type.name) is not supported")
    }
}

// MARK: - Fused matrix × vectors kernels

/// Vectors handled per pass over a row when batching: their accumulators live in a small
/// stack buffer. Larger batches take several passes (each weight block is then decoded once per
/// pass), which changes nothing in any result.
private let vectorsPerPass = 16

/// y[b·outputStride + r] = dot(row r, x_b) for a pair-decodable format.
@inline(__always)
private func multiplyPairRows<D: PairDecoder>(_: D.Type, _ m: QuantizedMatrix, _ x: UnsafePointer<Float>,
                                      batch: Int, _ y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    let columns = m.columns
    let fullPairs = columns / 32
    let tail = columns % 32
    let rowBytes = m.bytesPerRow
    let lanes = LaneConstants.opaque()

    if tail == 0 {
        // Whole pairs: four vectors at a time with their accumulators in registers, the rest (a
        // single sequence's decode, the hot path) one at a time with the same operations, so a
        // (row, vector) result does not depend on the batch. Rows go in
        // chunks, each chunk once per group of four vectors, so the chunk's weights and the four
        // vectors both stay in cache however large the batch (16 vectors of 896 columns alone
        // overflow L1).
        for chunk in rowChunks(rows) {
            var first = 0
            while batch - first >= 4 {
                let xs = x + first * columns
                for r in chunk {
                    var acc = FourAccumulators()
                    var p = m.data + r * rowBytes
                    for pair in 0..<fullPairs {
                        acc.accumulate(D.decodePair(p, lanes), xs + 32 * pair, columns: columns)
                        p += D.bytesPerPair
                    }
                    acc.store(into: y, first: first, outputStride: m.rows, row: r)
                }
                first += 4
            }
            while first < batch {
                for r in chunk {
                    var p = m.data + r * rowBytes
                    var xp = x + first * columns
                    var acc = WeightPair.zero
                    for _ in 0..<fullPairs {
                        acc.accumulate(D.decodePair(p, lanes), xp)
                        p += D.bytesPerPair
                        xp += 32
                    }
                    y[first * m.rows + r] = acc.reduced()
                }
                first += 1
            }
        }
        return
    }

    // Rows ending in a partial pair (element-wise formats whose width is not a multiple of 32):
    // up to 16 vectors per pass, accumulators on the stack.
    withUnsafeTemporaryAllocation(of: WeightPair.self, capacity: min(batch, vectorsPerPass)) { accumulators in
        let acc = accumulators.baseAddress!
        for r in rows {
            let rowStart = m.data + r * rowBytes
            var first = 0
            while first < batch {
                let n = min(vectorsPerPass, batch - first)
                let xs = x + first * columns
                for j in 0..<n { acc[j] = .zero }
                var p = rowStart
                for pair in 0..<fullPairs {
                    let w = D.decodePair(p, lanes)
                    p += D.bytesPerPair
                    var xp = xs + 32 * pair
                    for j in 0..<n {
                        acc[j].accumulate(w, xp)
                        xp += columns
                    }
                }
                if tail > 0 {
                    let w = D.decodePartialPair(p, count: tail)
                    for j in 0..<n {
                        var padded = WeightPair(loadingPartial: xs + j * columns + 32 * fullPairs, count: tail)
                        withUnsafePointer(to: &padded) {
                            acc[j].accumulate(w, UnsafeRawPointer($0).assumingMemoryBound(to: Float.self))
                        }
                    }
                }
                for j in 0..<n { y[(first + j) * m.rows + r] = acc[j].reduced() }
                first += n
            }
        }
    }
}

/// y[b·outputStride + r] = dot(row r, x_b) for a k-quant: each 256-weight block is decoded to a
/// stack buffer, then consumed 32 weights at a time exactly like the pair formats.
@inline(__always)
private func multiplySuperBlockRows<D: SuperBlockDecoder>(_: D.Type, _ m: QuantizedMatrix, _ x: UnsafePointer<Float>,
                                                  batch: Int, _ y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    let columns = m.columns
    let blocks = columns / 256
    let rowBytes = m.bytesPerRow

    withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { scratch in
        let weights = scratch.baseAddress!
        let raw = UnsafeRawPointer(weights)
        // Four vectors at a time with their accumulators in registers (each block decoded once
        // for the four), the rest (a single sequence's decode) one at a time with the same
        // operations: a (row, vector) result does not depend on the batch. Rows in chunks, as in
        // `multiplyPairRows`.
        for chunk in rowChunks(rows) {
            var first = 0
            while batch - first >= 4 {
                let xs = x + first * columns
                for r in chunk {
                    let rowStart = m.data + r * rowBytes
                    var acc = FourAccumulators()
                    for block in 0..<blocks {
                        D.decodeBlock(rowStart + block * D.bytesPerBlock, into: weights)
                        for pair in 0..<8 {
                            acc.accumulate(WeightPair(loading: raw + 128 * pair), xs + 256 * block + 32 * pair,
                                           columns: columns)
                        }
                    }
                    acc.store(into: y, first: first, outputStride: m.rows, row: r)
                }
                first += 4
            }
            while first < batch {
                let xs = x + first * columns
                for r in chunk {
                    let rowStart = m.data + r * rowBytes
                    var acc = WeightPair.zero
                    for block in 0..<blocks {
                        D.decodeBlock(rowStart + block * D.bytesPerBlock, into: weights)
                        for pair in 0..<8 {
                            acc.accumulate(WeightPair(loading: raw + 128 * pair), xs + 256 * block + 32 * pair)
                        }
                    }
                    y[first * m.rows + r] = acc.reduced()
                }
                first += 1
            }
        }
    }
}

/// The accumulators of four vectors (`columns` apart) against one weight row, kept in registers;
/// each is a batch-1 accumulator (`WeightPair`) with its operations in the canonical order.
private struct FourAccumulators {
    var a0 = WeightPair.zero, a1 = WeightPair.zero, a2 = WeightPair.zero, a3 = WeightPair.zero

    /// Adds w ⊙ x for the 32 activations at `x` of each vector.
    @inline(__always)
    mutating func accumulate(_ w: WeightPair, _ x: UnsafePointer<Float>, columns: Int) {
        a0.accumulate(w, x)
        a1.accumulate(w, x + columns)
        a2.accumulate(w, x + 2 * columns)
        a3.accumulate(w, x + 3 * columns)
    }

    /// y[(first + j) · outputStride + row] = vector j's reduced dot product.
    @inline(__always)
    func store(into y: UnsafeMutablePointer<Float>, first: Int, outputStride: Int, row: Int) {
        y[first * outputStride + row] = a0.reduced()
        y[(first + 1) * outputStride + row] = a1.reduced()
        y[(first + 2) * outputStride + row] = a2.reduced()
        y[(first + 3) * outputStride + row] = a3.reduced()
    }
}

/// `rows` in consecutive chunks of `rowsPerChunk` (the batched kernels' cache blocking).
@inline(__always)
private func rowChunks(_ rows: Range<Int>) -> LazyMapSequence<StrideTo<Int>, Range<Int>> {
    stride(from: rows.lowerBound, to: rows.upperBound, by: rowsPerChunk).lazy.map {
        $0..<min(rows.upperBound, $0 + rowsPerChunk)
    }
}

/// Weight rows per chunk of the batched kernels: 16 rows of 896 Q5_0 columns are 10 KB.
private let rowsPerChunk = 16

/// Multiplies rows `rows` of `m` by `batch` vectors:
/// `y[b * m.rows + r] = dot(row r of m, x[b * m.columns ..< (b + 1) * m.columns])`
/// for every r in `rows` and b in 0..<batch. Other entries of `y` are not touched.
///
/// Weights are dequantised inside the kernel, once per block for all the vectors; activations
/// stay f32 (never requantised). Each dot product is evaluated in a fixed order that does not
/// depend on `batch` or `rows`, so a value is bitwise identical however the work is batched or
/// split (e.g. across threads). For most formats it is also identical to multiplying the F32
/// matrix of the dequantised weights; Q4_1 and Q8_0 use factored kernels (`ScaledBlock`) that
/// differ from it in the last bits. Allocates nothing on the heap: batches take four vectors at a
/// time with accumulators in registers (any scratch — accumulators for up to 16 vectors of a
/// format whose rows end in a partial pair, one decoded k-quant block — lives on the stack).
/// - Precondition: `m.type.isSupported`, `rows` lies within `0..<m.rows`, `batch >= 0`.
public func multiply(_ m: QuantizedMatrix, vectors x: UnsafePointer<Float>, count batch: Int,
                     into y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    precondition(m.type.isSupported, "matrix multiplication with \(m.type.name) weights is not supported")
    precondition(rows.lowerBound >= 0 && rows.upperBound <= m.rows, "rows \(rows) outside 0..<\(m.rows)")
    precondition(batch >= 0, "negative batch")
    guard batch > 0, !rows.isEmpty else { return }
    switch m.type {
    case .f32: multiplyPairRows(F32Decoder.self, m, x, batch: batch, y, rows: rows)
    case .f16: multiplyPairRows(F16Decoder.self, m, x, batch: batch, y, rows: rows)
    case .bf16: multiplyPairRows(BF16Decoder.self, m, x, batch: batch, y, rows: rows)
    case .q4_0: multiplyPairRows(Q4_0Decoder.self, m, x, batch: batch, y, rows: rows)
    case .q4_1: multiplyScaledRows(Q4_1Scaled.self, m, x, batch: batch, y, rows: rows)
    case .q5_0: multiplyPairRows(Q5_0Decoder.self, m, x, batch: batch, y, rows: rows)
    case .q5_1: multiplyPairRows(Q5_1Decoder.self, m, x, batch: batch, y, rows: rows)
    case .q8_0: multiplyScaledRows(Q8_0Scaled.self, m, x, batch: batch, y, rows: rows)
    case .q4_K: multiplySuperBlockRows(Q4_KDecoder.self, m, x, batch: batch, y, rows: rows)
    case .q5_K: multiplySuperBlockRows(Q5_KDecoder.self, m, x, batch: batch, y, rows: rows)
    case .q6_K: multiplySuperBlockRows(Q6_KDecoder.self, m, x, batch: batch, y, rows: rows)
    default: preconditionFailure("unreachable: \(m.type.name) is not supported")
    }
}

// MARK: - Factored kernels for the formats of the default model

/// A 32-weight block whose weights are `d·q + m` (q small integers): the dot product with x is
/// `d·Σq·x + m·Σx`. Factoring out d and m halves the arithmetic of the decode hot path (Q4_1 for
/// every matrix of the default model, Q8_0 for its output head), and Σx per block is shared by all
/// rows. The order of operations is fixed per (row, vector), identical for every batch size and
/// row split; it differs in the last bits from multiplying the dequantised f32 matrix.
private protocol ScaledBlock {
    static var bytesPerBlock: Int { get }
    /// Whether blocks have an offset m (else m = 0 and Σx is not needed).
    static var hasOffset: Bool { get }
    /// (d, m, q[0..<16], q[16..<32]) of the block at `p`, q as exact floats.
    static func decode(_ p: UnsafeRawPointer) -> (d: Float, m: Float, low: SIMD16<Float>, high: SIMD16<Float>)
}

private enum Q4_1Scaled: ScaledBlock {
    static var bytesPerBlock: Int { 20 }
    static var hasOffset: Bool { true }
    @inline(__always)
    static func decode(_ p: UnsafeRawPointer) -> (d: Float, m: Float, low: SIMD16<Float>, high: SIMD16<Float>) {
        let q = loadBytes(p, 4)
        return (loadHalf(p, 0), loadHalf(p, 2), floats(q & 0x0F), floats(q &>> 4))
    }
}

private enum Q8_0Scaled: ScaledBlock {
    static var bytesPerBlock: Int { 34 }
    static var hasOffset: Bool { false }
    @inline(__always)
    static func decode(_ p: UnsafeRawPointer) -> (d: Float, m: Float, low: SIMD16<Float>, high: SIMD16<Float>) {
        (loadHalf(p, 0), 0, floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)),
         floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)))
    }
}

/// Per block: t = q_low·x_low (multiply), t = fma(q_high, x_high, t), acc = fma(t, d, acc);
/// offset += m·Σx_block. Result: the fixed reduction of acc, plus offset.
@inline(__always)
private func multiplyScaledRows<D: ScaledBlock>(_: D.Type, _ m: QuantizedMatrix, _ x: UnsafePointer<Float>,
                                                batch: Int, _ y: UnsafeMutablePointer<Float>, rows: Range<Int>) {
    let columns = m.columns
    let blocks = columns / 32
    let rowBytes = m.bytesPerRow
    // Σx per block and vector, summed in a fixed order (pairwise over the 32 lanes).
    withUnsafeTemporaryAllocation(of: Float.self, capacity: max(1, D.hasOffset ? blocks * batch : 1)) { sums in
        let xsum = sums.baseAddress!
        if D.hasOffset {
            for b in 0..<batch {
                for k in 0..<blocks {
                    let raw = UnsafeRawPointer(x + b * columns + 32 * k)
                    xsum[b * blocks + k] = (loadFloats(raw, 0) + loadFloats(raw, 64)).sum()
                }
            }
        }
        if batch == 1 {
            // The decode hot path of a single sequence.
            for r in rows { y[r] = scaledRowDot(D.self, row: m.data + r * rowBytes, blocks: blocks, x: x, xsum: xsum) }
            return
        }
        // Vectors in tiles of four, accumulators in registers; a tail of one to three vectors
        // goes one at a time. Every (row, vector) sees `scaledRowDot`'s operations in the same
        // order, so tiling changes speed, never a bit of any result.
        // Rows in chunks, each chunk once per group of four vectors (cache blocking, as in
        // `multiplyPairRows`).
        for chunk in rowChunks(rows) {
            var first = 0
            while batch - first >= 4 {
                for r in chunk {
                    let v = scaledRowTile4(D.self, row: m.data + r * rowBytes, blocks: blocks, x: x + first * columns,
                                           columns: columns, xsum: xsum + first * blocks)
                    for j in 0..<4 { y[(first + j) * m.rows + r] = v[j] }
                }
                first += 4
            }
            while first < batch {
                for r in chunk {
                    y[first * m.rows + r] = scaledRowDot(D.self, row: m.data + r * rowBytes, blocks: blocks,
                                                         x: x + first * columns, xsum: xsum + first * blocks)
                }
                first += 1
            }
        }
    }
}

/// One row of a factored-format matrix times one vector, in the canonical order of operations.
@inline(__always)
private func scaledRowDot<D: ScaledBlock>(_: D.Type, row: UnsafeRawPointer, blocks: Int, x: UnsafePointer<Float>,
                                          xsum: UnsafePointer<Float>) -> Float {
    var p = row
    var acc = SIMD16<Float>.zero
    var offset: Float = 0
    for k in 0..<blocks {
        let (d, mo, low, high) = D.decode(p)
        p += D.bytesPerBlock
        let raw = UnsafeRawPointer(x + 32 * k)
        var t = low * loadFloats(raw, 0)
        t = t.addingProduct(high, loadFloats(raw, 64))
        acc = acc.addingProduct(t, d)
        if D.hasOffset { offset = offset.addingProduct(mo, xsum[k]) }
    }
    return acc.sum() + offset
}

/// One row times four vectors (`columns` apart; their block sums `blocks` apart): each block is
/// decoded once for the four, and each vector gets exactly `scaledRowDot`'s operations.
@inline(__always)
private func scaledRowTile4<D: ScaledBlock>(_: D.Type, row: UnsafeRawPointer, blocks: Int, x: UnsafePointer<Float>,
                                            columns: Int, xsum: UnsafePointer<Float>) -> SIMD4<Float> {
    var p = row
    var a0 = SIMD16<Float>.zero, a1 = SIMD16<Float>.zero, a2 = SIMD16<Float>.zero, a3 = SIMD16<Float>.zero
    var o0: Float = 0, o1: Float = 0, o2: Float = 0, o3: Float = 0
    let x0 = UnsafeRawPointer(x), x1 = UnsafeRawPointer(x + columns)
    let x2 = UnsafeRawPointer(x + 2 * columns), x3 = UnsafeRawPointer(x + 3 * columns)
    for k in 0..<blocks {
        let (d, mo, low, high) = D.decode(p)
        p += D.bytesPerBlock
        let off = 128 * k   // bytes: 32 floats per block
        var t0 = low * loadFloats(x0, off)
        var t1 = low * loadFloats(x1, off)
        var t2 = low * loadFloats(x2, off)
        var t3 = low * loadFloats(x3, off)
        t0 = t0.addingProduct(high, loadFloats(x0, off + 64))
        t1 = t1.addingProduct(high, loadFloats(x1, off + 64))
        t2 = t2.addingProduct(high, loadFloats(x2, off + 64))
        t3 = t3.addingProduct(high, loadFloats(x3, off + 64))
        a0 = a0.addingProduct(t0, d)
        a1 = a1.addingProduct(t1, d)
        a2 = a2.addingProduct(t2, d)
        a3 = a3.addingProduct(t3, d)
        if D.hasOffset {
            o0 = o0.addingProduct(mo, xsum[k])
            o1 = o1.addingProduct(mo, xsum[blocks + k])
            o2 = o2.addingProduct(mo, xsum[2 * blocks + k])
            o3 = o3.addingProduct(mo, xsum[3 * blocks + k])
        }
    }
    return SIMD4(a0.sum() + o0, a1.sum() + o1, a2.sum() + o2, a3.sum() + o3)
}
