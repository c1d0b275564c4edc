import Foundation
import Support

/// Finds out, by running them, whether OpenBLAS computes a prefill row the same way in two call
/// shapes: the question `PrefixCache` must answer before it reuses a row (see there).
///
/// OpenBLAS chooses kernels, tiles and the split of the reduction dimension from a call's shape,
/// not from its numbers, so a row is either computed in the same order in two shapes or not. An
/// order difference can be confined to a few output elements (measured here: 1–2 of a 9 × 26
/// attention-score block, at a tile edge) and then shows on given data only when it changes a
/// rounding, about half the time; so the probe runs many data sets (three for the weight products,
/// 48 for attention) of similar-sized random terms with random signs and compares bit for bit:
///
/// - weight products (`x · Wᵀ` with `rows` rows, one per dense matrix shape of a block and sgemm
///   partition): a call of `rows` rows must give the rows of one reference call of
///   `referenceRows` rows, taken at the reference's start and a few rows in; then any two row
///   counts give the same rows, wherever a row sits in its call;
/// - attention's two products as `TransformerModel.attention` runs a prefill (scores `q · Kᵀ`;
///   causally masked weights times values): the first `shared` rows of a prompt of `entryLength`
///   positions must equal those of a prompt of `promptLength`, and the tail computed alone must
///   equal its rows in the full call. (The softmax between them is the engine's own row-wise code.)
///
/// Verdicts are memoised by shape; each costs a few milliseconds once.
final class PrefixReuseProbe {
    private let headDimension: Int
    private let queryWidth: Int
    private let kvWidth: Int
    /// Each distinct (n, k) of the block's dense products, with a weight pointer of that shape.
    private let weightShapes: [(weights: UnsafePointer<Float>, n: Int, k: Int)]
    /// Row counts above this are never reused (no reference for them).
    let referenceRows: Int
    /// Independent data sets every check runs on (three), `referenceRows × maxK` floats each.
    private let inputs: [UnsafeMutablePointer<Float>]
    /// Per trial and weight shape: the reference call's output (all columns, or the first and last
    /// `edgeColumns` of wider partitions).
    private var reference: [[[Float]]] = []
    private let edgeColumns = 256
    private var rowVerdicts: [Int: Bool] = [:]
    private struct AttentionShape: Hashable { let entry: Int, prompt: Int, shared: Int }
    private var attentionVerdicts: [AttentionShape: Bool] = [:]

    init(model: TransformerModel) {
        let c = model.configuration
        headDimension = c.headDimension
        queryWidth = c.headCount * c.headDimension
        kvWidth = c.kvWidth
        referenceRows = min(c.contextLength, 2048)
        let w = model.weights.blocks[0]
        let d = c.width, f = c.feedForwardWidth
        // The dense products of a prefill block (see `TransformerModel.applyBlock`): stacked QKV,
        // attention output, stacked gate/up, down; each split in `sgemmPartitions` column ranges.
        let products: [(UnsafePointer<Float>, Int, Int)] = [
            (UnsafePointer(w.queryKeyValueDense), queryWidth + 2 * kvWidth, d),
            (UnsafePointer(w.output.dense), d, queryWidth),
            (UnsafePointer(w.gateUpDense), 2 * f, d),
            (UnsafePointer(w.down.dense), d, f),
        ]
        var shapes: [(UnsafePointer<Float>, Int, Int)] = []
        for (b, n, k) in products {
            for cols in TransformerModel.sgemmPartitionRanges(n) where !cols.isEmpty
                && !shapes.contains(where: { $0.1 == cols.count && $0.2 == k }) {
                shapes.append((b + cols.lowerBound * k, cols.count, k))
            }
        }
        weightShapes = shapes
        // Attention needs queries, keys, values and the weights matrix of a prompt side by side.
        let maxK = max(d, queryWidth, f, queryWidth + 2 * kvWidth + referenceRows)
        let count = referenceRows * maxK + Self.attentionShifts * Self.shiftStride
        var random = SplitMix64(seed: 0x5eed_cafe)
        inputs = (0..<3).map { _ in
            let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
            for i in 0..<count { p[i] = Self.probeRandom(&random) }
            return p
        }
    }

    deinit { for p in inputs { p.deallocate() } }

    /// ±(1 + u) · 2^e with u uniform in [0, 1) (23 random mantissa bits) and e uniform in −2...0:
    /// terms of similar size and random signs, whose sums round differently in another order
    /// about half the time.
    static func probeRandom(_ random: inout SplitMix64) -> Float {
        let bits = random.next()
        let mantissa = UInt32(truncatingIfNeeded: bits) & 0x7F_FFFF
        let exponent = UInt32(127 - 2 + Int((bits >> 32) % 3))
        let sign = UInt32((bits >> 63) & 1)
        return Float(bitPattern: sign << 31 | exponent << 23 | mantissa)
    }

    /// Attention runs on each data set at this many starting offsets (`shiftStride` floats apart):
    /// 48 data sets in all, so an order difference confined to one element of the tail (the case
    /// found here) is missed with probability about 2⁻⁴⁸.
    static let attentionShifts = 16
    /// Where a weight-product check also places its rows inside the reference call.
    static let rowShift = 5
    static let shiftStride = 7919

    /// Whether every weight product computes its rows the same in a call of `rows` rows as in any
    /// other call, wherever they sit in it (checked against the reference call, with the rows at
    /// its start and `rowShift` rows in).
    func weightRowsAreShapeFree(rows: Int) -> Bool {
        guard rows >= 1, rows <= referenceRows else { return false }
        if let v = rowVerdicts[rows] { return v }
        if reference.isEmpty {
            reference = inputs.map { input in weightShapes.map { kept(call($0, input, rows: referenceRows), rows: referenceRows, n: $0.n) } }
        }
        var same = true
        // At the call's start and shifted by an offset that is no multiple of a tile height: a
        // batch of prompts (`TransformerModel.rowGroups`) puts a prompt's rows anywhere in a call.
        let offsets = [0, Self.rowShift].filter { $0 + rows <= referenceRows }
        for (t, input) in inputs.enumerated() where same {
            for (i, shape) in weightShapes.enumerated() where same {
                for offset in offsets where same {
                    let mine = kept(call(shape, input + offset * shape.k, rows: rows), rows: rows, n: shape.n)
                    let width = shape.n > 2 * edgeColumns ? 2 * edgeColumns : shape.n
                    let expected = reference[t][i][(offset * width)..<(offset * width + mine.count)]
                    same = mine.elementsEqual(expected) { $0.bitPattern == $1.bitPattern }
                }
            }
        }
        rowVerdicts[rows] = same
        return same
    }

    /// Whether reusing the first `shared` rows of a prompt of `entryLength` positions, computed in
    /// its own prefill, inside a prompt of `promptLength` gives that prompt's rows exactly.
    func attentionAllowsReuse(entryLength: Int, promptLength: Int, shared: Int) -> Bool {
        guard promptLength <= referenceRows, entryLength <= referenceRows, shared < promptLength, shared <= entryLength else { return false }
        let key = AttentionShape(entry: entryLength, prompt: promptLength, shared: shared)
        if let v = attentionVerdicts[key] { return v }
        var same = true
        let shifted = inputs.flatMap { input in (0..<Self.attentionShifts).map { input + $0 * Self.shiftStride } }
        for input in shifted where same {
            let full = attend(input, from: 0, rows: promptLength)
            let entry = attend(input, from: 0, rows: entryLength)
            let tail = attend(input, from: shared, rows: promptLength - shared)
            // Row r's scores matter in columns 0...r (the rest is masked away).
            let causal: (Int) -> Int = { $0 + 1 }
            let head: (Int) -> Int = { _ in self.headDimension }
            same = rowsEqual(full.scores, stride: promptLength, entry.scores, stride: entryLength, rows: 0..<shared, columns: causal)
                && rowsEqual(full.scores, stride: promptLength, tail.scores, stride: promptLength, rows: shared..<promptLength,
                             offset: shared, columns: causal)
                && rowsEqual(full.out, stride: headDimension, entry.out, stride: headDimension, rows: 0..<shared, columns: head)
                && rowsEqual(full.out, stride: headDimension, tail.out, stride: headDimension, rows: shared..<promptLength,
                             offset: shared, columns: head)
        }
        attentionVerdicts[key] = same
        return same
    }

    /// All three checks for a reuse of `shared` rows of an entry of `entryLength` in a prompt of
    /// `promptLength`.
    func allowsReuse(entryLength: Int, promptLength: Int, shared: Int) -> Bool {
        weightRowsAreShapeFree(rows: entryLength) && weightRowsAreShapeFree(rows: promptLength)
            && weightRowsAreShapeFree(rows: promptLength - shared)
            && attentionAllowsReuse(entryLength: entryLength, promptLength: promptLength, shared: shared)
    }

    // MARK: Probe calls

    /// Rows `rows` of `a` (row stride `sa`) equal rows `r - offset` of `b` (stride `sb`) bit for
    /// bit, in the first `columns(r)` columns of row r.
    private func rowsEqual(_ a: [Float], stride sa: Int, _ b: [Float], stride sb: Int, rows: Range<Int>, offset: Int = 0,
                           columns: (Int) -> Int) -> Bool {
        for r in rows {
            for j in 0..<columns(r) where a[r * sa + j].bitPattern != b[(r - offset) * sb + j].bitPattern { return false }
        }
        return true
    }

    /// `rows` rows of probe input times one weight shape; the full output (`rows × n`).
    private func call(_ shape: (weights: UnsafePointer<Float>, n: Int, k: Int), _ input: UnsafeMutablePointer<Float>,
                      rows: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * shape.n) { buf, count in
            Kernels.sgemmABt(input, lda: shape.k, shape.weights, ldb: shape.k, buf.baseAddress!, ldc: shape.n,
                             m: rows, n: shape.n, k: shape.k)
            count = rows * shape.n
        }
    }

    /// The columns of each row that are compared: all, or the first and last `edgeColumns`.
    private func kept(_ out: [Float], rows: Int, n: Int) -> [Float] {
        guard n > 2 * edgeColumns else { return out }
        var kept: [Float] = []
        kept.reserveCapacity(rows * 2 * edgeColumns)
        for r in 0..<rows {
            kept += out[(r * n)..<(r * n + edgeColumns)]
            kept += out[(r * n + n - edgeColumns)..<(r * n + n)]
        }
        return kept
    }

    /// One head's prefill attention products for rows `from..<from + rows` of a prompt ending at
    /// `from + rows`, with the engine's strides and calls (`TransformerModel.attention`): the
    /// scores (`rows × total`) and the causally masked weights (probe data, not a softmax) times
    /// the values (`rows × headDimension`).
    private func attend(_ input: UnsafeMutablePointer<Float>, from first: Int, rows n: Int) -> (scores: [Float], out: [Float]) {
        let qw = queryWidth, kv = kvWidth, hd = headDimension
        let total = first + n
        // Queries, keys, values and weights are disjoint stretches of the probe input, the same
        // whatever the call (rows of the same position hold the same numbers in every call).
        let q = input, keys = input + referenceRows * qw, values = keys + referenceRows * kv
        let weights = values + referenceRows * kv
        let scores = [Float](unsafeUninitializedCapacity: n * total) { buf, count in
            Kernels.sgemmABt(q + first * qw, lda: qw, keys, ldb: kv, buf.baseAddress!, ldc: total, m: n, n: total, k: hd)
            count = n * total
        }
        var p = [Float](repeating: 0, count: n * total)
        for t in 0..<n {
            let position = first + t
            for j in 0...position { p[t * total + j] = weights[position * referenceRows + j] }
        }
        var out = [Float](repeating: 0, count: n * qw)
        p.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { ob in
                Kernels.sgemmAB(pb.baseAddress!, lda: total, values, ldb: kv, ob.baseAddress!, ldc: qw, m: n, n: hd, k: total)
            }
        }
        // Head 0's columns only.
        var head = [Float](repeating: 0, count: n * hd)
        for t in 0..<n { for j in 0..<hd { head[t * hd + j] = out[t * qw + j] } }
        return (scores, head)
    }
}
