import CBLAS
import Foundation

/// Elementwise and small kernels of the forward pass. All operate on raw f32 buffers, allocate
/// nothing, and reduce in a fixed order so results never depend on batch size or thread count.
enum Kernels {
    /// y[t] = x[t] / sqrt(mean(x[t]²) + eps) * w, for each of `rows` rows of width `n`.
    static func rmsNorm(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                        rows: Int, width n: Int, epsilon: Float) {
        for t in 0..<rows {
            let xr = x + t * n, yr = y + t * n
            var s: Double = 0
            for i in 0..<n { let v = Double(xr[i]); s += v * v }
            let scale = Float(1.0 / (s / Double(n) + Double(epsilon)).squareRoot())
            for i in 0..<n { yr[i] = xr[i] * scale * w[i] }
        }
    }

    /// Adds `bias` to each of `rows` rows.
    static func addBias(_ x: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, width n: Int) {
        for t in 0..<rows { let r = x + t * n; for i in 0..<n { r[i] += bias[i] } }
    }

    /// x += y over `count` values.
    static func add(_ x: UnsafeMutablePointer<Float>, _ y: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { x[i] += y[i] }
    }

    /// C[m×n] = A[m×k] · B[n×k]ᵀ (row-major, B is a weight matrix stored by output rows).
    static func sgemmABt(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                         _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, beta: Float = 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// C[m×n] = A[m×k] · B[k×n] (row-major).
    static func sgemmAB(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                        _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                    a, Int32(lda), b, Int32(ldb), 0, c, Int32(ldc))
    }
}

extension Kernels {
    /// Positions per chunk of `attendHeads`: a chunk's keys (and values) of one head, 64 KB at head
    /// size 64, stay in L2 while every head of a query group reads them.
    static let attentionPositionsPerChunk = 256

    /// One query attending over `count` cached positions: scores, softmax, weighted sum of values
    /// (`attendHeads` for a single head).
    static func attendOneHead(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                              stride: Int, keyBlocks: UnsafePointer<Float>? = nil, blockStride: Int = 0,
                              count: Int, dimension hd: Int, scale: Float,
                              scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        attendHeads(queries: query, headCount: 1, keys: keys, values: values, stride: stride, keyBlocks: keyBlocks,
                    blockStride: blockStride, count: count, dimension: hd, scale: scale, scores: scores, out: out)
    }

    /// `headCount` consecutive query heads (`queries + h * hd`) that share one key/value head (a
    /// query group) attending over `count` cached positions; head h's scores go to
    /// `scores + h * count`, its output to `out + h * hd`.
    ///
    /// Per head: each dot product accumulates 16-lane SIMD partial sums over the dimension and
    /// reduces them with `sum()`; softmax; each output lane accumulates over positions in
    /// increasing order. Four keys (and four 16-lane output slices) are in flight at once for
    /// instruction-level parallelism; that changes no operation's operands or order, so results are
    /// the same bit for bit as one key (one slice) at a time.
    ///
    /// With `keyBlocks` (the same keys in `KVCache`'s blocked layout: this head's component c of
    /// position 16b + i at `keyBlocks + b * blockStride + 16c + i`) and a head size that is a
    /// multiple of 16, whole blocks of 16 positions are scored with position as the vector lane:
    /// lane i accumulates component l, l + 16, … of position i exactly as lane l of that position's
    /// partial sum does above, and the 16 partial sums are then added in lane order from -0, as
    /// `sum()` adds them. So the scores are the same bit for bit, without a horizontal sum per key.
    ///
    /// Why the heads go together: on a long context one group's keys and values (16 MB per layer
    /// at 32k positions for Qwen2.5) do not fit in cache, and head by head every one of the group's
    /// heads would read them from memory again. Positions are taken in chunks
    /// (`attentionPositionsPerChunk`), every head doing a chunk before the next is read; an output
    /// slice is stored after a chunk and reloaded for the next, which changes no operation, so
    /// each head's numbers are those it gets alone.
    static func attendHeads(queries: UnsafePointer<Float>, headCount: Int, keys: UnsafePointer<Float>,
                            values: UnsafePointer<Float>, stride: Int, keyBlocks: UnsafePointer<Float>? = nil,
                            blockStride: Int = 0, count: Int, dimension hd: Int, scale: Float,
                            scores: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        let chunk = attentionPositionsPerChunk
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headCount) { maxima in
            maxima.initialize(repeating: -Float.infinity)
            var start = 0
            while start < count {
                let end = min(count, start + chunk)
                for h in 0..<headCount {
                    scoreKeys(query: queries + h * hd, keys: keys, stride: stride, keyBlocks: keyBlocks,
                              blockStride: blockStride, positions: start..<end, dimension: hd, scale: scale,
                              scores: scores + h * count, maximum: &maxima[h])
                }
                start = end
            }
            for h in 0..<headCount {
                VectorExp.expInPlace(scores + h * count, count: count, adding: -maxima[h])
            }
            withUnsafeTemporaryAllocation(of: Float.self, capacity: headCount) { totals in
                sumRowsInOrder(scores, stride: count, rows: headCount, counts: { _ in count }, into: totals.baseAddress!)
                for h in 0..<headCount {
                    let s = scores + h * count
                    let inv = 1 / totals[h]
                    for t in 0..<count { s[t] *= inv }
                }
            }
        }
        var start = 0
        while start < count {
            let end = min(count, start + chunk)
            for h in 0..<headCount {
                accumulateValues(weights: scores + h * count, values: values, stride: stride,
                                 positions: start..<end, dimension: hd, out: out + h * hd)
            }
            start = end
        }
    }

    /// Causal softmax of a prefill's scores, in place: row t (of `rows`, `stride` apart) becomes
    /// softmax(scale · x) over its first `firstLength + t` values, and zero after them.
    ///
    /// Per row, in order: scale, maximum, `exp(x − max)`, the sum from zero in index order, each
    /// value times 1/sum. The sums of four rows run in lockstep (`Kernels.sumRowsInOrder`) and the
    /// first pass 16 lanes at a time, neither of which changes a row's numbers.
    static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, rows n: Int, stride total: Int, firstLength: Int,
                           scale: Float) {
        // Four rows at a time, so that the three passes find them in cache.
        var sums = SIMD4<Float>()
        var first = 0
        while first < n {
            let group = min(4, n - first)
            for t in first..<(first + group) {
                let row = scores + t * total, limit = firstLength + t
                let m = Kernels.scaleInPlaceReturningMaximum(row, count: limit, scale: scale)
                VectorExp.expInPlace(row, count: limit, adding: -m)
            }
            withUnsafeMutableBytes(of: &sums) { raw in
                let s = raw.baseAddress!.assumingMemoryBound(to: Float.self)
                Kernels.sumRowsInOrder(scores + first * total, stride: total, rows: group,
                                       counts: { firstLength + first + $0 }, into: s)
                for j in 0..<group {
                    let t = first + j, row = scores + t * total, limit = firstLength + t
                    let inv = 1 / s[j]
                    for i in 0..<limit { row[i] *= inv }
                    if limit < total { (row + limit).update(repeating: 0, count: total - limit) }
                }
            }
            first += group
        }
    }

    /// The largest of 16 values (a tree of lane-wise maxima: the maximum of a set is the same
    /// value in any order, so this equals a running `max` over the lanes).
    @inline(__always)
    static func horizontalMaximum(_ v: SIMD16<Float>) -> Float {
        var a = v.lowHalf, b = v.highHalf
        a.replace(with: b, where: b .> a)
        var c = a.lowHalf, d = a.highHalf
        c.replace(with: d, where: d .> c)
        var e = c.lowHalf, f = c.highHalf
        e.replace(with: f, where: f .> e)
        return max(e[0], e[1])
    }

    /// Scales `count` floats in place by `scale` and returns the largest scaled value: softmax's
    /// first pass, 16 lanes at a time (each product is the scalar product; the maximum is the same
    /// value in any order).
    @inline(__always)
    static func scaleInPlaceReturningMaximum(_ x: UnsafeMutablePointer<Float>, count: Int, scale: Float) -> Float {
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            let v = load(x + i) * scale
            UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD16<Float>.self)
            lanes.replace(with: v, where: v .> lanes)
            i += 16
        }
        var m = horizontalMaximum(lanes)
        while i < count {
            x[i] *= scale
            m = max(m, x[i])
            i += 1
        }
        return m
    }

    /// Row r's sum `((0 + x[0]) + x[1]) + …` over its `counts(r)` floats at `base + r * stride`,
    /// into `sums[r]`: each row in index order from zero, so each sum is the one a single running
    /// total gives, bit for bit. Four rows go in lockstep so that their additions, each waiting on
    /// the previous one of its own row, overlap in the pipeline (one row alone is bound by the
    /// adder's latency, ~4 cycles an element).
    @inline(__always)
    static func sumRowsInOrder(_ base: UnsafePointer<Float>, stride: Int, rows: Int, counts: (Int) -> Int,
                               into sums: UnsafeMutablePointer<Float>) {
        var r = 0
        while r < rows {
            // A last group of fewer than four rows repeats its last row in the empty places.
            let i0 = r, i1 = min(r + 1, rows - 1), i2 = min(r + 2, rows - 1), i3 = min(r + 3, rows - 1)
            let p0 = base + i0 * stride, p1 = base + i1 * stride, p2 = base + i2 * stride, p3 = base + i3 * stride
            let c0 = counts(i0), c1 = counts(i1), c2 = counts(i2), c3 = counts(i3)
            let common = min(c0, c1, c2, c3)
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var t = 0
            while t < common {
                s0 += p0[t]; s1 += p1[t]; s2 += p2[t]; s3 += p3[t]
                t += 1
            }
            for u in common..<c0 { s0 += p0[u] }
            for u in common..<c1 { s1 += p1[u] }
            for u in common..<c2 { s2 += p2[u] }
            for u in common..<c3 { s3 += p3[u] }
            sums[i0] = s0; sums[i1] = s1; sums[i2] = s2; sums[i3] = s3
            r += 4
        }
    }

    @inline(__always)
    private static func load(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }

    /// Scaled scores of `positions` (which start at a multiple of 16) into `scores`, raising
    /// `maximum` to the largest, position by position.
    @inline(__always)
    private static func scoreKeys(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, stride: Int,
                                  keyBlocks: UnsafePointer<Float>?, blockStride: Int, positions: Range<Int>,
                                  dimension hd: Int, scale: Float, scores: UnsafeMutablePointer<Float>,
                                  maximum: inout Float) {
        let lanes = hd / 16 * 16
        @inline(__always) func tail(_ k: UnsafePointer<Float>, _ s: Float) -> Float {
            var s = s
            var j = lanes
            while j < hd { s += query[j] * k[j]; j += 1 }
            return s
        }
        var m = maximum
        var t = positions.lowerBound
        let count = positions.upperBound
        if let keyBlocks, hd % 16 == 0 {
            var blockMaximum = SIMD16<Float>(repeating: -.infinity)
            while t + 16 <= count {
                let block = keyBlocks + (t / 16) * blockStride
                // Accumulator l sums the components c ≡ l (mod 16) in increasing c, then the 16
                // accumulators are added in order of l. All 16 run together so that the block's
                // components are read in memory order (one pass over its hd × 16 floats, which
                // the prefetcher follows; taking one l at a time strode through the block 16
                // times and each multiply-add waited on the previous one of the same l).
                var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0
                var a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0
                var c = 0
                while c < hd {
                    let q = query + c, k = block + 16 * c
                    a0 = a0.addingProduct(SIMD16(repeating: q[0]), load(k))
                    a1 = a1.addingProduct(SIMD16(repeating: q[1]), load(k + 16))
                    a2 = a2.addingProduct(SIMD16(repeating: q[2]), load(k + 32))
                    a3 = a3.addingProduct(SIMD16(repeating: q[3]), load(k + 48))
                    a4 = a4.addingProduct(SIMD16(repeating: q[4]), load(k + 64))
                    a5 = a5.addingProduct(SIMD16(repeating: q[5]), load(k + 80))
                    a6 = a6.addingProduct(SIMD16(repeating: q[6]), load(k + 96))
                    a7 = a7.addingProduct(SIMD16(repeating: q[7]), load(k + 112))
                    a8 = a8.addingProduct(SIMD16(repeating: q[8]), load(k + 128))
                    a9 = a9.addingProduct(SIMD16(repeating: q[9]), load(k + 144))
                    a10 = a10.addingProduct(SIMD16(repeating: q[10]), load(k + 160))
                    a11 = a11.addingProduct(SIMD16(repeating: q[11]), load(k + 176))
                    a12 = a12.addingProduct(SIMD16(repeating: q[12]), load(k + 192))
                    a13 = a13.addingProduct(SIMD16(repeating: q[13]), load(k + 208))
                    a14 = a14.addingProduct(SIMD16(repeating: q[14]), load(k + 224))
                    a15 = a15.addingProduct(SIMD16(repeating: q[15]), load(k + 240))
                    c += 16
                }
                var sum = SIMD16<Float>(repeating: -0.0)
                sum += a0; sum += a1; sum += a2; sum += a3; sum += a4; sum += a5; sum += a6; sum += a7
                sum += a8; sum += a9; sum += a10; sum += a11; sum += a12; sum += a13; sum += a14; sum += a15
                let s = sum * scale
                UnsafeMutableRawPointer(scores + t).storeBytes(of: s, as: SIMD16<Float>.self)
                // Lane by lane: a running maximum is the same value in any order.
                blockMaximum.replace(with: s, where: s .> blockMaximum)
                t += 16
            }
            m = max(m, horizontalMaximum(blockMaximum))
        }
        while t + 4 <= count {
            let k0 = keys + t * stride, k1 = k0 + stride, k2 = k1 + stride, k3 = k2 + stride
            var a0 = SIMD16<Float>(repeating: 0), a1 = a0, a2 = a0, a3 = a0
            var j = 0
            while j < lanes {
                let q = load(query + j)
                a0 = a0.addingProduct(q, load(k0 + j))
                a1 = a1.addingProduct(q, load(k1 + j))
                a2 = a2.addingProduct(q, load(k2 + j))
                a3 = a3.addingProduct(q, load(k3 + j))
                j += 16
            }
            let s0 = tail(k0, a0.sum()) * scale, s1 = tail(k1, a1.sum()) * scale
            let s2 = tail(k2, a2.sum()) * scale, s3 = tail(k3, a3.sum()) * scale
            scores[t] = s0; scores[t + 1] = s1; scores[t + 2] = s2; scores[t + 3] = s3
            m = max(m, s0); m = max(m, s1); m = max(m, s2); m = max(m, s3)
            t += 4
        }
        while t < count {
            let k = keys + t * stride
            var acc = SIMD16<Float>(repeating: 0)
            var j = 0
            while j < lanes {
                acc = acc.addingProduct(load(query + j), load(k + j))
                j += 16
            }
            let s = tail(k, acc.sum()) * scale
            scores[t] = s
            m = max(m, s)
            t += 1
        }
        maximum = m
    }

    /// Adds `weights[t] · values[t]` for t in `positions`, in order, to each lane of `out` (`hd`
    /// floats), starting from zero when `positions` starts at 0.
    @inline(__always)
    private static func accumulateValues(weights: UnsafePointer<Float>, values: UnsafePointer<Float>, stride: Int,
                                         positions: Range<Int>, dimension hd: Int, out: UnsafeMutablePointer<Float>) {
        let lanes = hd / 16 * 16
        let first = positions.lowerBound == 0
        @inline(__always) func start(_ j: Int) -> SIMD16<Float> {
            first ? SIMD16<Float>(repeating: 0) : load(out + j)
        }
        var j = 0
        while j + 64 <= lanes {
            // Four 16-lane slices of the output, each accumulated over the positions in registers.
            var o0 = start(j), o1 = start(j + 16), o2 = start(j + 32), o3 = start(j + 48)
            for t in positions {
                let w = SIMD16<Float>(repeating: weights[t])
                let v = values + t * stride + j
                o0 = o0.addingProduct(w, load(v))
                o1 = o1.addingProduct(w, load(v + 16))
                o2 = o2.addingProduct(w, load(v + 32))
                o3 = o3.addingProduct(w, load(v + 48))
            }
            let p = UnsafeMutableRawPointer(out + j)
            p.storeBytes(of: o0, as: SIMD16<Float>.self)
            p.storeBytes(of: o1, toByteOffset: 64, as: SIMD16<Float>.self)
            p.storeBytes(of: o2, toByteOffset: 128, as: SIMD16<Float>.self)
            p.storeBytes(of: o3, toByteOffset: 192, as: SIMD16<Float>.self)
            j += 64
        }
        while j < lanes {
            var o = start(j)
            for t in positions {
                o = o.addingProduct(SIMD16<Float>(repeating: weights[t]), load(values + t * stride + j))
            }
            UnsafeMutableRawPointer(out + j).storeBytes(of: o, as: SIMD16<Float>.self)
            j += 16
        }
        while j < hd {
            var o: Float = first ? 0 : out[j]
            for t in positions { o += weights[t] * values[t * stride + j] }
            out[j] = o
            j += 1
        }
    }
}

/// Precomputed RoPE rotations (cos, sin) for positions `0..<capacity`, computed in f64.
struct RopeTable {
    let cos: [Float]
    let sin: [Float]
    let half: Int
    let layout: RopeLayout

    init(headDimension: Int, base: Double, capacity: Int, layout: RopeLayout) {
        half = headDimension / 2
        self.layout = layout
        var c = [Float](repeating: 0, count: capacity * half), s = c
        for p in 0..<capacity {
            for i in 0..<half {
                let angle = Double(p) * pow(base, -Double(2 * i) / Double(headDimension))
                c[p * half + i] = Float(Foundation.cos(angle))
                s[p * half + i] = Float(Foundation.sin(angle))
            }
        }
        cos = c
        sin = s
    }

    /// Rotates `heads` heads of one token at `position` in place (row = heads × headDimension).
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let hd = half * 2
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                let c = cp.baseAddress! + position * half, s = sp.baseAddress! + position * half
                for h in 0..<heads {
                    let v = x + h * hd
                    switch layout {
                    case .interleaved:
                        for i in 0..<half {
                            let a = v[2 * i], b = v[2 * i + 1]
                            v[2 * i] = a * c[i] - b * s[i]
                            v[2 * i + 1] = a * s[i] + b * c[i]
                        }
                    case .neox:
                        for i in 0..<half {
                            let a = v[i], b = v[i + half]
                            v[i] = a * c[i] - b * s[i]
                            v[i + half] = a * s[i] + b * c[i]
                        }
                    }
                }
            }
        }
    }
}
