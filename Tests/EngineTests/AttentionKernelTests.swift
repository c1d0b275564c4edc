@testable import Engine
import Foundation
import XCTest

/// The decode attention kernel keeps four keys and four output slices in flight, and scores whole
/// blocks of 16 positions from the cache's blocked key layout; it must equal, bit for bit, the
/// plain one-key-at-a-time computation it replaced (the numbers of every stored run depend on it),
/// for every count and head size, tails included.
final class AttentionKernelTests: XCTestCase {
    /// The straightforward kernel: per key a 16-lane partial sum reduced with `sum()`, then the
    /// scalar tail; softmax; per output lane an accumulation over positions in order.
    private func reference(query: [Float], keys: [Float], values: [Float], stride: Int, count: Int, hd: Int,
                           scale: Float) -> [Float] {
        let lanes = hd / 16 * 16
        var scores = [Float](repeating: 0, count: count)
        var m = -Float.infinity
        for t in 0..<count {
            var acc = SIMD16<Float>(repeating: 0)
            var j = 0
            while j < lanes {
                acc = acc.addingProduct(SIMD16(query[j..<j + 16]), SIMD16(keys[t * stride + j..<t * stride + j + 16]))
                j += 16
            }
            var s = acc.sum()
            while j < hd { s += query[j] * keys[t * stride + j]; j += 1 }
            s *= scale
            scores[t] = s
            m = max(m, s)
        }
        scores.withUnsafeMutableBufferPointer { VectorExp.expInPlace($0.baseAddress!, count: count, adding: -m) }
        var total: Float = 0
        for t in 0..<count { total += scores[t] }
        let inv = 1 / total
        var out = [Float](repeating: 0, count: hd)
        var j = 0
        while j < lanes {
            var o = SIMD16<Float>(repeating: 0)
            for t in 0..<count {
                o = o.addingProduct(SIMD16<Float>(repeating: scores[t] * inv),
                                    SIMD16(values[t * stride + j..<t * stride + j + 16]))
            }
            for l in 0..<16 { out[j + l] = o[l] }
            j += 16
        }
        while j < hd {
            var o: Float = 0
            for t in 0..<count { o += scores[t] * inv * values[t * stride + j] }
            out[j] = o
            j += 1
        }
        return out
    }

    func testEqualsTheOneKeyAtATimeKernelBitForBit() {
        var state: UInt64 = 11
        func random() -> Float { // a 64-bit LCG (Knuth's MMIX constants) is plenty for test inputs
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % 20_001 - 10_000) / 3_000
        }
        for hd in [64, 128, 80, 48, 24, 7] {
            let stride = hd * 3 + 5 // keys of one head inside wider cache rows, as in grouped attention
            for count in [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 257] {
                let query = (0..<hd).map { _ in random() }
                let keys = (0..<count * stride).map { _ in random() }
                let values = (0..<count * stride).map { _ in random() }
                let scale = 1 / Float(hd).squareRoot()
                let expected = reference(query: query, keys: keys, values: values, stride: stride, count: count,
                                         hd: hd, scale: scale)
                // The same keys in the cache's blocked layout, this head's components at an offset
                // inside wider blocks (as a grouped head's are); positions past `count` are NaN, so
                // reading one would show.
                let n = KVCache.positionsPerBlock, blockStride = stride * n, offset = 2 * n
                var blocked = [Float](repeating: .nan, count: ((count + n - 1) / n) * blockStride + offset)
                for t in 0..<count {
                    for c in 0..<hd { blocked[(t / n) * blockStride + offset + c * n + t % n] = keys[t * stride + c] }
                }
                for useBlocks in [false, true] {
                    var scores = [Float](repeating: .nan, count: count)
                    var out = [Float](repeating: .nan, count: hd)
                    query.withUnsafeBufferPointer { q in
                        keys.withUnsafeBufferPointer { k in
                            values.withUnsafeBufferPointer { v in
                                blocked.withUnsafeBufferPointer { b in
                                    Kernels.attendOneHead(query: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                                                          stride: stride, keyBlocks: useBlocks ? b.baseAddress! + offset : nil,
                                                          blockStride: blockStride, count: count, dimension: hd,
                                                          scale: scale, scores: &scores, out: &out)
                                }
                            }
                        }
                    }
                    XCTAssertEqual(out.map(\.bitPattern), expected.map(\.bitPattern),
                                   "hd \(hd), count \(count), blocked keys \(useBlocks)")
                }
            }
        }
    }

    /// The heads of a query group attended together, over contexts longer than one chunk of
    /// positions, each give what the reference gives that head alone, bit for bit.
    func testHeadsOfAGroupTogetherEqualEachHeadAloneBitForBit() {
        var state: UInt64 = 23
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % 20_001 - 10_000) / 3_000
        }
        let chunk = Kernels.attentionPositionsPerChunk
        for hd in [64, 24] {
            let stride = hd * 2 + 3
            for count in [1, 17, chunk - 1, chunk, chunk + 1, 2 * chunk + 37] {
                for heads in [1, 3, 7] {
                    let queries = (0..<heads * hd).map { _ in random() }
                    let keys = (0..<count * stride).map { _ in random() }
                    let values = (0..<count * stride).map { _ in random() }
                    let scale = 1 / Float(hd).squareRoot()
                    let n = KVCache.positionsPerBlock, blockStride = stride * n
                    var blocked = [Float](repeating: .nan, count: ((count + n - 1) / n) * blockStride)
                    for t in 0..<count {
                        for c in 0..<hd { blocked[(t / n) * blockStride + c * n + t % n] = keys[t * stride + c] }
                    }
                    for useBlocks in [false, true] {
                        var scores = [Float](repeating: .nan, count: heads * count)
                        var out = [Float](repeating: .nan, count: heads * hd)
                        blocked.withUnsafeBufferPointer { b in
                            Kernels.attendHeads(queries: queries, headCount: heads, keys: keys, values: values,
                                                stride: stride, keyBlocks: useBlocks ? b.baseAddress! : nil,
                                                blockStride: blockStride, count: count, dimension: hd, scale: scale,
                                                scores: &scores, out: &out)
                        }
                        for h in 0..<heads {
                            let expected = reference(query: Array(queries[h * hd..<(h + 1) * hd]), keys: keys,
                                                     values: values, stride: stride, count: count, hd: hd,
                                                     scale: scale)
                            XCTAssertEqual(out[h * hd..<(h + 1) * hd].map(\.bitPattern), expected.map(\.bitPattern),
                                           "hd \(hd), count \(count), head \(h) of \(heads), blocked keys \(useBlocks)")
                        }
                    }
                }
            }
        }
    }

    /// The cache's blocked keys hold each key/value head's blocks one after another: every
    /// component of every position is where `keyBlocks(head:)` and `blockStride` say, whether it
    /// was stored one position at a time or as a prefix, and attention over them equals the
    /// reference for every head (a layout that mixed up heads or blocks fails here).
    func testCacheKeyBlocksHoldEachHeadContiguouslyAndAttentionOverThemMatchesTheReference() {
        var state: UInt64 = 41
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 33) % 20_001 - 10_000) / 3_000
        }
        let hd = 32, heads = 3, kv = hd * heads, count = 53, n = KVCache.positionsPerBlock
        let keys = (0..<count * kv).map { _ in random() }
        let values = (0..<count * kv).map { _ in random() }
        let cache = KVCache(capacity: 64, kvWidth: kv, headDimension: hd)
        let oneByOne = cache.slot(0), prefix = cache.slot(1)
        keys.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                for p in 0..<count {
                    oneByOne.store(position: p, key: k.baseAddress! + p * kv, value: v.baseAddress! + p * kv, kvWidth: kv)
                }
                prefix.storePrefix(keys: k.baseAddress!, values: v.baseAddress!, count: count, kvWidth: kv)
            }
        }
        XCTAssertEqual(oneByOne.blockStride, hd * n)
        let scale = 1 / Float(hd).squareRoot()
        for slot in [oneByOne, prefix] {
            for g in 0..<heads {
                let blocks = slot.keyBlocks(head: g)
                for p in 0..<count {
                    for c in 0..<hd where blocks[(p / n) * slot.blockStride + c * n + p % n] != keys[p * kv + g * hd + c] {
                        XCTFail("head \(g), position \(p), component \(c) is not where the layout says")
                        return
                    }
                }
                let query = (0..<hd).map { _ in random() }
                var scores = [Float](repeating: .nan, count: count)
                var out = [Float](repeating: .nan, count: hd)
                Kernels.attendHeads(queries: query, headCount: 1, keys: slot.keys + g * hd, values: slot.values + g * hd,
                                    stride: kv, keyBlocks: blocks, blockStride: slot.blockStride, count: count,
                                    dimension: hd, scale: scale, scores: &scores, out: &out)
                let expected = reference(query: query, keys: Array(keys[(g * hd)...]), values: Array(values[(g * hd)...]),
                                         stride: kv, count: count, hd: hd, scale: scale)
                XCTAssertEqual(out.map(\.bitPattern), expected.map(\.bitPattern), "head \(g)")
            }
        }
    }
}
