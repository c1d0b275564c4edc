import CBLAS
import Dispatch
import Foundation

/// A decoder (any of `DecoderArchitectures`) running natively on the CPU: f32 activations, OpenBLAS sgemm over
/// dequantised weights for batched prefill, fused dequantise-and-dot kernels for decode.
///
/// Not thread-safe: one caller at a time (it owns reusable scratch buffers). Results are bitwise
/// deterministic: a sequence's numbers depend only on its own tokens and path, never on what it
/// is batched with or on the thread count.
public final class TransformerModel {
    public let name: String
    public let configuration: ModelConfiguration
    public let weights: TransformerWeights
    public let tokenizer: BPETokenizer
    /// Threads for OpenBLAS and for the decode kernels.
    public let threads: Int

    let rope: RopeTable
    let workspace = Workspace()
    /// All parallel work (sgemm column blocks, quantised row blocks, attention heads) runs on this
    /// team; OpenBLAS itself is kept single-threaded so the two never compete for the cores.
    let team: WorkerTeam
    /// Up to this many rows go through the quantised kernels; more go through sgemm.
    let quantizedRowLimit = 8
    /// Sequences greedy generation decodes together. Each decode row is one sequence's own step
    /// and always takes the quantised kernels (whose rows do not depend on the batch), so this
    /// may exceed `quantizedRowLimit`: it trades memory for reading each weight once for more rows.
    let decodeBatchLimit = 16

    /// Prompts' keys and values kept across calls, reused where that is exact (nil: off).
    public let prefixCache: PrefixCache?
    /// Tokens greedy generation has produced so far (for progress lines).
    public let generatedTokens = GeneratedTokenCounter()
    /// Keeps generated tokens so an interrupted run resumes a long answer mid-way (nil: none).
    public var generationJournal: (any GenerationJournal)?
    /// Verdicts on which OpenBLAS call shapes compute a row identically (made on first use).
    lazy var callShapeProbe = PrefixReuseProbe(model: self)

    /// Opens a GGUF model file. `name` defaults to the file name without extension;
    /// `prefixCache` serves prompt prefixes shared across documents (nil turns it off).
    public init(path: String, name: String? = nil, threads: Int = 2, prefixCache: PrefixCache? = PrefixCache()) throws {
        let file = try GGUFFile(path: path)
        let configuration = try ModelConfiguration(gguf: file)
        self.configuration = configuration
        self.tokenizer = try BPETokenizer(gguf: file)
        self.weights = try TransformerWeights(file: file, configuration: configuration)
        self.name = name ?? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        self.threads = max(1, threads)
        self.rope = RopeTable(headDimension: configuration.headDimension, base: configuration.ropeBase,
                              capacity: configuration.contextLength, layout: configuration.ropeLayout)
        self.team = WorkerTeam(size: self.threads)
        self.prefixCache = prefixCache
        openblas_set_num_threads(1)
    }

    /// Number of transformer blocks.
    public var layerCount: Int { configuration.layerCount }

    // MARK: Matrix products

    /// y[rows × out] = x[rows × in] · Wᵀ, choosing the kernel by row count only (so the choice is a
    /// property of the sequence, never of its batch-mates).
    func linear(_ w: LinearWeight, _ x: UnsafePointer<Float>, rows: Int, _ y: UnsafeMutablePointer<Float>) {
        linear(w, x, rows: rows, y, quantized: rows <= quantizedRowLimit)
    }

    /// `linear` with the kernel chosen by the caller: rows of a batch of short segments, each of
    /// which alone would take the quantised kernels, go through them together (those kernels
    /// compute each row the same for every batch size).
    func linear(_ w: LinearWeight, _ x: UnsafePointer<Float>, rows: Int, _ y: UnsafeMutablePointer<Float>, quantized: Bool) {
        if quantized {
            quantizedLinear(w.quantized, x, rows: rows, y)
        } else {
            parallelSgemmABt(x, lda: w.columns, w.dense, ldb: w.columns, y, ldc: w.rows, m: rows, n: w.rows, k: w.columns)
        }
    }

    /// The team's share `i` of `0..<n`, in blocks of `granule` (the last share takes the rest).
    @inline(__always)
    func share(_ i: Int, of n: Int, granule: Int) -> Range<Int> {
        let blocks = (n + granule - 1) / granule
        let per = (blocks + team.size - 1) / team.size
        let lo = min(n, i * per * granule), hi = min(n, (i + 1) * per * granule)
        return lo..<hi
    }

    /// Column partitions of every prefill sgemm, whatever the thread count.
    ///
    /// OpenBLAS's result for an output element can depend on the shape of the call it is computed
    /// in (its Zen kernels give different last bits for C[:, 0..<288] alone than inside C[:, 0..<576];
    /// its AVX-512 kernels do not). So the split is fixed, never derived from the thread count:
    /// one thread computes both partitions in turn, two or more compute one each, and a
    /// sequence's numbers do not depend on `threads`. Two partitions is the split the committed
    /// records were computed with (2 threads).
    static let sgemmPartitions = 2

    /// The column ranges of an sgemm with `n` output columns: `sgemmPartitions` ranges, in whole
    /// blocks of 16 (the last may be shorter or empty).
    static func sgemmPartitionRanges(_ n: Int) -> [Range<Int>] {
        let partitions = sgemmPartitions
        let blocks = (n + 15) / 16
        let per = (blocks + partitions - 1) / partitions
        return (0..<partitions).map { p in min(n, p * per * 16)..<min(n, (p + 1) * per * 16) }
    }

    /// C = A · Bᵀ with B's rows (C's columns) in `sgemmPartitions` fixed partitions, each a
    /// single-threaded sgemm, shared over the team.
    func parallelSgemmABt(_ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
                          _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int) {
        let partitions = Self.sgemmPartitionRanges(n)
        team.run { i in
            for p in stride(from: i, to: partitions.count, by: team.size) {
                let cols = partitions[p]
                if !cols.isEmpty {
                    Kernels.sgemmABt(a, lda: lda, b + cols.lowerBound * ldb, ldb: ldb, c + cols.lowerBound, ldc: ldc,
                                     m: m, n: cols.count, k: k)
                }
            }
        }
    }

    /// Quantised matrix × `rows` vectors, rows of the matrix split over the team.
    func quantizedLinear(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, rows batch: Int, _ y: UnsafeMutablePointer<Float>) {
        // The kernel writes y[b*m.rows + r]; row ranges are disjoint, so threads never share output.
        if team.size == 1 || m.rows < 128 {
            multiply(m, vectors: x, count: batch, into: y, rows: 0..<m.rows)
            return
        }
        team.run { i in
            let r = share(i, of: m.rows, granule: 16)
            if !r.isEmpty { multiply(m, vectors: x, count: batch, into: y, rows: r) }
        }
    }

    /// Several quantised products of the same input in one team job (one synchronisation instead
    /// of one per matrix); each thread takes its share of every matrix.
    func quantizedLinear(_ products: [(QuantizedMatrix, UnsafeMutablePointer<Float>)], _ x: UnsafePointer<Float>, rows batch: Int) {
        if team.size == 1 {
            for (m, y) in products { multiply(m, vectors: x, count: batch, into: y, rows: 0..<m.rows) }
            return
        }
        team.run { i in
            for (m, y) in products {
                let r = share(i, of: m.rows, granule: 16)
                if !r.isEmpty { multiply(m, vectors: x, count: batch, into: y, rows: r) }
            }
        }
    }

    // MARK: One block

    /// A row of the current batch: which sequence it belongs to and its absolute position.
    struct Row {
        let sequence: SequenceState
        let position: Int
    }

    /// Runs `body` over row ranges: split over the team for prefill-sized batches, inline for
    /// decode-sized ones. Each row's arithmetic is the same either way.
    @inline(__always)
    func forRows(_ n: Int, _ body: (Range<Int>) -> Void) {
        if n <= quantizedRowLimit || team.size == 1 {
            body(0..<n)
        } else {
            team.run { i in
                let r = share(i, of: n, granule: 8)
                if !r.isEmpty { body(r) }
            }
        }
    }

    /// Applies block `block` (path position `slot` of every row's sequence) to `x`
    /// (`rows.count × d`), in place.
    func applyBlock(_ block: Int, slot: Int, x: UnsafeMutablePointer<Float>, rows: [Row]) {
        applyBlock(block, slots: Array(repeating: slot, count: rows.count), x: x, rows: rows)
    }

    /// Applies block `block` to `x` (`rows.count × d`), in place; row t is at path position
    /// `slots[t]` of its sequence (rows of sequences with different paths may share a block).
    ///
    /// `segments` (default: all rows as one) splits the rows into independent calls' worth: each
    /// segment gets the kernels and attention call it would get alone (the choice by row count is
    /// per segment), so a batch of prompts computes every row as its own prefill would. Their
    /// dense products still run as one matrix product where `callShapeProbe` finds that OpenBLAS
    /// computes each row the same in the merged call (one weight packing instead of one per prompt).
    func applyBlock(_ block: Int, slots: [Int], x: UnsafeMutablePointer<Float>, rows: [Row],
                    segments: [Range<Int>]? = nil) {
        let c = configuration, w = weights.blocks[block]
        let n = rows.count, d = c.width, kv = c.kvWidth, hd = c.headDimension
        let qw = c.headCount * hd, f = c.feedForwardWidth, eps = c.rmsEpsilon
        let (dense, attentionGroups) = rowGroups(segments ?? [0..<n], rows: n)
        // Merged sgemm calls may be padded past the last row (see `rowGroups`): room for them.
        let padded = max(n, dense.map { $0.rows.lowerBound + $0.callRows }.max() ?? n)
        let h = workspace.buffer(.normed, padded * d)
        let q = workspace.buffer(.query, n * qw)
        let k = workspace.buffer(.key, n * kv)
        let v = workspace.buffer(.value, n * kv)
        let att = workspace.buffer(.attentionOutput, padded * qw)
        let tmp = workspace.buffer(.blockOutput, padded * d)
        // Cache slots are allocated here, outside the parallel sections that write into them.
        let caches = zip(rows, slots).map { $0.sequence.cache.slot($1) }

        forRows(n) { r in
            Kernels.rmsNorm(x + r.lowerBound * d, w.attentionNorm, h + r.lowerBound * d, rows: r.count, width: d, epsilon: eps)
        }
        let all = qw + 2 * kv
        // Rows whose q, k, v come from the stacked sgemm product (split into q, k, v below).
        var stacked = [Bool](repeating: false, count: n)
        let qkv = workspace.buffer(.stackedQKV, padded * all)
        for g in dense {
            let o = g.rows.lowerBound
            if g.quantized {
                quantizedLinear([(w.query.quantized, q + o * qw), (w.key.quantized, k + o * kv), (w.value.quantized, v + o * kv)],
                                h + o * d, rows: g.rows.count)
            } else {
                // One sgemm over the stacked [q; k; v] weights.
                parallelSgemmABt(h + o * d, lda: d, w.queryKeyValueDense, ldb: d, qkv + o * all, ldc: all,
                                 m: g.callRows, n: all, k: d)
                for t in g.rows { stacked[t] = true }
            }
        }
        forRows(n) { range in
            for t in range {
                if stacked[t] {
                    (q + t * qw).update(from: qkv + t * all, count: qw)
                    (k + t * kv).update(from: qkv + t * all + qw, count: kv)
                    (v + t * kv).update(from: qkv + t * all + qw + kv, count: kv)
                }
                if let b = w.queryBias { Kernels.addBias(q + t * qw, b, rows: 1, width: qw) }
                if let b = w.keyBias { Kernels.addBias(k + t * kv, b, rows: 1, width: kv) }
                if let b = w.valueBias { Kernels.addBias(v + t * kv, b, rows: 1, width: kv) }
                let position = rows[t].position
                rope.apply(q + t * qw, heads: c.headCount, position: position)
                rope.apply(k + t * kv, heads: c.kvHeadCount, position: position)
                caches[t].store(position: position, key: k + t * kv, value: v + t * kv, kvWidth: kv)
            }
        }
        if attentionGroups.count == 1 {
            attention(q: q, out: att, rows: rows, slots: slots, rowByRow: attentionGroups[0].rowByRow)
        } else {
            for g in attentionGroups {
                let s = g.rows
                attention(q: q + s.lowerBound * qw, out: att + s.lowerBound * qw, rows: Array(rows[s]), slots: Array(slots[s]),
                          rowByRow: g.rowByRow)
            }
        }
        for g in dense {
            let o = g.rows.lowerBound
            linear(w.output, att + o * qw, rows: g.callRows, tmp + o * d, quantized: g.quantized)
        }
        forRows(n) { r in
            Kernels.add(x + r.lowerBound * d, tmp + r.lowerBound * d, count: r.count * d)
            Kernels.rmsNorm(x + r.lowerBound * d, w.feedForwardNorm, h + r.lowerBound * d, rows: r.count, width: d, epsilon: eps)
        }

        // `gate` shares storage with `stackedQKV`, dead by now.
        let gate = workspace.buffer(.gate, padded * f)
        for g in dense {
            let o = g.rows.lowerBound, count = g.rows.count
            if g.quantized {
                let up = workspace.buffer(.up, count * f)
                quantizedLinear([(w.gate.quantized, gate + o * f), (w.up.quantized, up)], h + o * d, rows: count)
                VectorExp.swiglu(gate + o * f, up, into: gate + o * f, count: count * f)
            } else {
                // One sgemm over the stacked [gate; up] weights; SwiGLU reads both halves of each row.
                let gu = workspace.buffer(.stackedGateUp, g.callRows * 2 * f)
                parallelSgemmABt(h + o * d, lda: d, w.gateUpDense, ldb: d, gu, ldc: 2 * f, m: g.callRows, n: 2 * f, k: d)
                forRows(count) { range in
                    for t in range {
                        let row = gu + t * 2 * f
                        VectorExp.swiglu(row, row + f, into: gate + (o + t) * f, count: f)
                    }
                }
            }
        }
        for g in dense {
            linear(w.down, gate + g.rows.lowerBound * f, rows: g.callRows, tmp + g.rows.lowerBound * d, quantized: g.quantized)
        }
        forRows(n) { r in Kernels.add(x + r.lowerBound * d, tmp + r.lowerBound * d, count: r.count * d) }
    }

    /// Rows whose dense products run as one call, and the kernel they take. A merged sgemm call
    /// runs on `callRows` rows (the real ones, then padding rows whose results nobody reads).
    struct RowGroup: Equatable {
        let rows: Range<Int>
        let quantized: Bool
        var callRows: Int { paddedRows ?? rows.count }
        var paddedRows: Int? = nil
    }

    /// Rows whose attention runs as one call; `rowByRow` where they are short segments' rows.
    struct AttentionGroup: Equatable {
        let rows: Range<Int>
        let rowByRow: Bool
    }

    /// Merged sgemm calls are padded to a multiple of this many rows, so that the probe is asked
    /// about few row counts (each first verdict costs about three block applications of that size).
    static let mergedRowGranule = 32
    /// The most rows one merged sgemm call holds (padding included).
    static let mergedRowLimit = 1024

    /// How `applyBlock` calls its kernels for `segments` (contiguous, in order, covering `0..<n`;
    /// each segment a run of positions of its own sequence, or all rows as one segment):
    ///
    /// - dense products: adjacent segments of at most `quantizedRowLimit` rows (which alone take
    ///   the quantised kernels, whose rows do not depend on the batch) run as one quantised call;
    ///   adjacent longer segments (which alone take sgemm) run as one sgemm of up to
    ///   `mergedRowLimit` rows, padded to a multiple of `mergedRowGranule`, where `callShapeProbe`
    ///   finds sgemm computes a row the same in a call of each segment's row count as in one of the
    ///   padded count, and otherwise one call each. Groups are run in order, so a padded call's
    ///   extra rows are overwritten by the next group's own results.
    /// - attention: each long segment alone (its prefill call shape); the short ones together,
    ///   row by row (the per-row kernel each short segment takes alone, even where the rows are
    ///   consecutive positions of one sequence, as a replay of decode steps gives).
    func rowGroups(_ segments: [Range<Int>], rows n: Int) -> (dense: [RowGroup], attention: [AttentionGroup]) {
        if segments.count == 1 {
            return ([RowGroup(rows: 0..<n, quantized: n <= quantizedRowLimit)], [AttentionGroup(rows: 0..<n, rowByRow: false)])
        }
        var dense: [RowGroup] = [], attention: [AttentionGroup] = []
        let granule = Self.mergedRowGranule
        func paddedCount(_ rows: Int) -> Int { (rows + granule - 1) / granule * granule }
        var i = 0
        while i < segments.count {
            let short = segments[i].count <= quantizedRowLimit
            if short {
                var j = i
                while j + 1 < segments.count, segments[j + 1].count <= quantizedRowLimit { j += 1 }
                let run = segments[i].lowerBound..<segments[j].upperBound
                dense.append(RowGroup(rows: run, quantized: true))
                attention.append(AttentionGroup(rows: run, rowByRow: true))
                i = j + 1
                continue
            }
            // Long segments from i on, as many as fit one merged call.
            var j = i
            while j + 1 < segments.count, segments[j + 1].count > quantizedRowLimit,
                  paddedCount(segments[j + 1].upperBound - segments[i].lowerBound) <= Self.mergedRowLimit { j += 1 }
            let run = segments[i].lowerBound..<segments[j].upperBound
            let probe = callShapeProbe
            if j > i, probe.weightRowsAreShapeFree(rows: paddedCount(run.count)),
               segments[i...j].allSatisfy({ probe.weightRowsAreShapeFree(rows: $0.count) }) {
                dense.append(RowGroup(rows: run, quantized: false, paddedRows: paddedCount(run.count)))
            } else {
                dense += segments[i...j].map { RowGroup(rows: $0, quantized: false) }
            }
            attention += segments[i...j].map { AttentionGroup(rows: $0, rowByRow: false) }
            i = j + 1
        }
        return (dense, attention)
    }

    /// Causal attention of each row over its own sequence's cached keys/values (positions 0...row).
    /// Heads are split over the team; each head's arithmetic is the same whatever the split.
    ///
    /// Rows that are consecutive positions of one sequence, more than `quantizedRowLimit` of them,
    /// are a prefill and go through sgemm, unless `rowByRow` (decode steps replayed together).
    func attention(q: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>, rows: [Row], slots: [Int],
                   rowByRow: Bool = false) {
        let c = configuration, hd = c.headDimension, kv = c.kvWidth, qw = c.headCount * hd
        let group = c.headCount / c.kvHeadCount
        let scale = 1 / Float(hd).squareRoot()
        // A run of consecutive positions of one sequence (prefill) goes through sgemm.
        if !rowByRow, rows.count > quantizedRowLimit, let first = rows.first,
           rows.allSatisfy({ $0.sequence === first.sequence }), slots.allSatisfy({ $0 == slots[0] }),
           rows.last!.position - first.position == rows.count - 1 {
            let n = rows.count, total = first.position + n
            let cache = first.sequence.cache.slot(slots[0])
            let scratch = (0..<team.size).map { workspace.buffer(.scores(thread: $0), n * total) }
            team.run { i in
                let scores = scratch[i]
                for head in share(i, of: c.headCount, granule: 1) {
                    let g = head / group
                    Kernels.sgemmABt(q + head * hd, lda: qw, cache.keys + g * hd, ldb: kv, scores, ldc: total,
                                     m: n, n: total, k: hd)
                    Kernels.causalSoftmax(scores, rows: n, stride: total, firstLength: first.position + 1, scale: scale)
                    Kernels.sgemmAB(scores, lda: total, cache.values + g * hd, ldb: kv, out + head * hd, ldc: qw,
                                    m: n, n: hd, k: total)
                }
            }
            return
        }
        let longest = rows.map { $0.position + 1 }.max() ?? 1
        let scratch = (0..<team.size).map { workspace.buffer(.scores(thread: $0), longest * group) }
        let caches = rows.indices.map { rows[$0].sequence.cache.slot(slots[$0]) }
        // (row, head) pairs are shared out evenly: with 9 heads, splitting heads alone leaves one
        // thread 5 of them and the other 4 for every row of a batch. Within a thread's share, the
        // consecutive heads of one row that share a key/value head go through the kernel together
        // (one read of a long cache instead of one per head; the same numbers).
        team.run { i in
            let scores = scratch[i]
            let items = share(i, of: rows.count * c.headCount, granule: 1)
            var item = items.lowerBound
            while item < items.upperBound {
                let r = item / c.headCount, head = item % c.headCount
                let g = head / group
                let runEnd = min(items.upperBound, r * c.headCount + (g + 1) * group)
                let cache = caches[r]
                Kernels.attendHeads(queries: q + r * qw + head * hd, headCount: runEnd - item,
                                    keys: cache.keys + g * hd, values: cache.values + g * hd, stride: kv,
                                    keyBlocks: cache.keyBlocks(head: g),
                                    blockStride: cache.blockStride, count: rows[r].position + 1,
                                    dimension: hd, scale: scale, scores: scores, out: out + r * qw + head * hd)
                item = runEnd
            }
        }
    }

    // MARK: Forward passes

    /// Writes the embeddings of `tokens` into `x` (`tokens.count × d`).
    func embed(_ tokens: ArraySlice<Int32>, into x: UnsafeMutablePointer<Float>) {
        let d = configuration.width
        for (i, t) in tokens.enumerated() {
            (x + i * d).update(from: weights.tokenEmbedding.dense + Int(t) * d, count: d)
        }
    }

    /// Runs `tokens` through the model for one sequence starting at its current length, along its
    /// path (deciding the path first, block by block, when `decider` is given and no path is set).
    /// Leaves the final hidden states (before the output norm) in `x`; returns the path used.
    @discardableResult
    func forward(_ tokens: ArraySlice<Int32>, sequence: SequenceState, decider: (any PathDecider)?,
                 x: UnsafeMutablePointer<Float>) -> LayerPath {
        let start = sequence.length
        let rows = (0..<tokens.count).map { Row(sequence: sequence, position: start + $0) }
        embed(tokens, into: x)
        if let path = sequence.path {
            for (slot, b) in path.blocks.enumerated() { applyBlock(b, slot: slot, x: x, rows: rows) }
        } else {
            var blocks: [Int] = []
            for b in 0..<configuration.layerCount {
                let times = decider.map { applications(ofLayer: b, decidedBy: $0, hidden: x, tokens: tokens.count) } ?? 1
                for _ in 0..<times {
                    applyBlock(b, slot: blocks.count, x: x, rows: rows)
                    blocks.append(b)
                }
            }
            sequence.path = LayerPath(blocks)
        }
        sequence.length += tokens.count
        return sequence.path!
    }

    /// How many times (0, 1 or 2) `decider` applies block `layer` to a prompt of `tokens` rows whose
    /// hidden states entering the block are at `hidden`.
    func applications(ofLayer layer: Int, decidedBy decider: any PathDecider, hidden: UnsafeMutablePointer<Float>,
                      tokens: Int) -> Int {
        let d = configuration.width
        return min(2, max(0, decider.decide(layer: layer, hidden: UnsafeBufferPointer(start: hidden, count: tokens * d),
                                            tokens: tokens, width: d)))
    }

    /// One decode step of `sequences` (each with its path set), one token each; leaves the final
    /// hidden states in `x` (`sequences.count × d`).
    ///
    /// Sequences need not share a path (routed generation decides one per prompt): blocks are
    /// scheduled by always running the smallest block any sequence needs next, for all sequences
    /// that need it, so rows of different paths still go through each weight matrix together.
    /// Each row's arithmetic is the same as stepping its sequence alone (the decode kernels are
    /// batch-invariant), so this changes speed, never numbers.
    func decodeStep(_ tokens: [Int32], sequences: [SequenceState], x: UnsafeMutablePointer<Float>) {
        let rows = zip(sequences, tokens).map { Row(sequence: $0.0, position: $0.0.length) }
        let d = configuration.width, n = sequences.count
        for (i, t) in tokens.enumerated() {
            (x + i * d).update(from: weights.tokenEmbedding.dense + Int(t) * d, count: d)
        }
        let paths = sequences.map { $0.path!.blocks }
        var next = [Int](repeating: 0, count: n)   // each sequence's next path position
        // Each row is its own sequence's one-row step: it takes the kernels that step takes alone
        // (the quantised ones), however many sequences step together.
        func ownSegments(_ count: Int) -> [Range<Int>] { (0..<count).map { $0..<($0 + 1) } }
        while true {
            let waiting = (0..<n).filter { next[$0] < paths[$0].count }
            guard let block = waiting.map({ paths[$0][next[$0]] }).min() else { break }
            let members = waiting.filter { paths[$0][next[$0]] == block }
            let slots = members.map { next[$0] }
            if members.count == n {
                // Every sequence needs this block (always, when they share a path): no gathering.
                applyBlock(block, slots: slots, x: x, rows: rows, segments: ownSegments(n))
            } else {
                let gathered = workspace.buffer(.gathered, members.count * d)
                for (j, i) in members.enumerated() { (gathered + j * d).update(from: x + i * d, count: d) }
                applyBlock(block, slots: slots, x: gathered, rows: members.map { rows[$0] }, segments: ownSegments(members.count))
                for (j, i) in members.enumerated() { (x + i * d).update(from: gathered + j * d, count: d) }
            }
            for i in members { next[i] += 1 }
        }
        for s in sequences { s.length += 1 }
    }

    /// Logits of `count` hidden rows (applies the output norm first, in place): `count × vocab`.
    /// The kernel is chosen by `count`, as for a prompt's own rows.
    func logits(_ x: UnsafeMutablePointer<Float>, rows count: Int, into out: UnsafeMutablePointer<Float>) {
        logits(x, rows: count, into: out, quantized: count <= quantizedRowLimit)
    }

    /// Logits of decode rows: each row is one sequence's single step, so each takes the quantised
    /// kernel it would take alone, however many sequences step together.
    func decodeLogits(_ x: UnsafeMutablePointer<Float>, rows count: Int, into out: UnsafeMutablePointer<Float>) {
        logits(x, rows: count, into: out, quantized: true)
    }

    private func logits(_ x: UnsafeMutablePointer<Float>, rows count: Int, into out: UnsafeMutablePointer<Float>,
                        quantized: Bool) {
        let d = configuration.width
        let h = workspace.buffer(.outputNormed, count * d)
        Kernels.rmsNorm(x, weights.outputNorm, h, rows: count, width: d, epsilon: configuration.rmsEpsilon)
        linear(weights.outputHead, h, rows: count, out, quantized: quantized)
    }

    /// A new, empty sequence with room for `capacity` tokens.
    func makeSequence(capacity: Int, path: LayerPath?) -> SequenceState {
        let s = SequenceState(capacity: capacity, kvWidth: configuration.kvWidth, headDimension: configuration.headDimension)
        s.path = path
        return s
    }
}
