import CBLAS
import Foundation
import Support

/// Prefill and decode speed of a `TransformerModel`, measured the way
/// `scripts/llamacpp_speed.py` measures llama.cpp (same text, same token counts, best of N),
/// so the two can be put side by side.
public struct PerfBenchmark {
    public let model: TransformerModel

    public init(model: TransformerModel) { self.model = model }

    /// The measured speeds.
    public struct Result: Codable, Sendable {
        public var model: String
        public var threads: Int
        public var prompt_tokens: Int
        public var gen_tokens: Int
        /// Sequences decoded together (each prefilled with the same prompt); decode tokens/s
        /// counts the tokens of all of them.
        public var batch: Int
        public var path_length: Int
        public var prefill_tokens_per_second_best: Double
        public var prefill_tokens_per_second_median: Double
        public var decode_tokens_per_second_best: Double
        public var decode_tokens_per_second_median: Double
        /// Floating-point operations of one prefill (weight products, causal attention, the
        /// output head for the last row), in GFLOP.
        public var prefill_gflop: Double
        /// Achieved prefill rate (best repetition): `prefill_gflop` over its time.
        public var prefill_gflops_best: Double
        /// OpenBLAS's own `cblas_sgemm` on the same weight-product shapes (f32, `threads` threads,
        /// best of the repetitions): the rate the products alone run at — the ceiling for prefill.
        public var sgemm_gflops: Double
        /// `prefill_gflops_best / sgemm_gflops`.
        public var prefill_fraction_of_sgemm: Double
        /// OpenBLAS's kernel family in use (`OpenBLASCore.name`), e.g. "Cooperlake": sgemm speed
        /// and its last bits depend on it.
        public var blas_core: String
    }

    /// One weight-product shape of a prefill: `rows` × `inputs` times `inputs` × `outputs`, `count`
    /// times.
    public struct ProductShape: Hashable, Sendable {
        public var rows: Int, inputs: Int, outputs: Int, count: Int
        public var gflop: Double { 2 * Double(rows) * Double(inputs) * Double(outputs) * Double(count) / 1e9 }
    }

    /// The weight products of a prefill of `tokens` tokens through `blocks` block applications
    /// (q, k, v, o, gate, up, down per block) and the output head for one row.
    public static func prefillProducts(_ c: ModelConfiguration, tokens: Int, blocks: Int) -> [ProductShape] {
        let d = c.width, kv = c.kvWidth, ff = c.feedForwardWidth, q = c.headCount * c.headDimension
        return [ProductShape(rows: tokens, inputs: d, outputs: q, count: blocks),
                ProductShape(rows: tokens, inputs: d, outputs: kv, count: 2 * blocks),
                ProductShape(rows: tokens, inputs: q, outputs: d, count: blocks),
                ProductShape(rows: tokens, inputs: d, outputs: ff, count: 2 * blocks),
                ProductShape(rows: tokens, inputs: ff, outputs: d, count: blocks),
                ProductShape(rows: 1, inputs: d, outputs: c.vocabularySize, count: 1)]
    }

    /// GFLOP of causal attention over `tokens` tokens in `blocks` blocks: per head, QKᵀ and the
    /// weighted sum of values over T(T+1)/2 query–key pairs each.
    public static func attentionGFLOP(_ c: ModelConfiguration, tokens: Int, blocks: Int) -> Double {
        2 * 2 * Double(c.headCount * c.headDimension) * Double(tokens) * Double(tokens + 1) / 2 * Double(blocks) / 1e9
    }

    /// Seconds OpenBLAS's `cblas_sgemm` takes for `shapes` (each timed on its own, best of
    /// `repetitions`, multiplied by its count), with `threads` OpenBLAS threads. The engine keeps
    /// OpenBLAS single-threaded and splits work itself; the setting is restored afterwards.
    public static func sgemmSeconds(_ shapes: [ProductShape], threads: Int, repetitions: Int) -> Double {
        openblas_set_num_threads(Int32(threads))
        defer { openblas_set_num_threads(1) }
        var total = 0.0
        for shape in shapes {
            let a = [Float](repeating: 0.25, count: shape.rows * shape.inputs)
            let b = [Float](repeating: 0.5, count: shape.outputs * shape.inputs)
            var c = [Float](repeating: 0, count: shape.rows * shape.outputs)
            var best = Double.infinity
            for _ in 0..<max(1, repetitions) {
                let t = MonotonicClock.seconds()
                c.withUnsafeMutableBufferPointer { cp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(shape.rows), Int32(shape.outputs), Int32(shape.inputs),
                                1, a, Int32(shape.inputs), b, Int32(shape.inputs), 0, cp.baseAddress, Int32(shape.outputs))
                }
                best = min(best, MonotonicClock.seconds() - t)
            }
            total += best * Double(shape.count)
        }
        return total
    }

    /// The benchmark text (the same as llama.cpp's speed script uses).
    public static let text = String(repeating: "The quick brown fox jumps over the lazy dog while the scientist measures the boiling point of water. ", count: 64)

    /// Prefill speed of one sequence of `promptTokens`, then decode speed of `batch` such sequences
    /// stepped together (greedy generation's batched decode) for `generateTokens` steps.
    public func run(promptTokens: Int, generateTokens: Int, repetitions: Int, policy: LayerPolicy,
                    batch: Int = 1) throws -> Result {
        precondition(batch >= 1, "batch must be at least 1")
        let all = model.encode(Self.text)
        var toks = all
        while toks.count < promptTokens { toks += all }
        toks = Array(toks.prefix(promptTokens))
        let (path, decider) = try model.resolve(policy)
        let d = model.configuration.width, vocab = model.configuration.vocabularySize
        var prefill: [Double] = [], decode: [Double] = []
        var usedPath = 0
        for _ in 0..<repetitions {
            let sequences = (0..<batch).map { _ in model.makeSequence(capacity: promptTokens + generateTokens, path: path) }
            let x = model.workspace.buffer(.hidden, max(promptTokens, batch) * d)
            let out = model.workspace.buffer(.logits, batch * vocab)
            var t = MonotonicClock.seconds()
            usedPath = model.forward(toks[...], sequence: sequences[0], decider: decider, x: x).count
            model.logits(x + (promptTokens - 1) * d, rows: 1, into: out)
            prefill.append(Double(promptTokens) / (MonotonicClock.seconds() - t))
            // The other sequences' prefills are not timed.
            for s in sequences.dropFirst() {
                model.forward(toks[...], sequence: s, decider: decider, x: x)
            }
            t = MonotonicClock.seconds()
            for i in 0..<generateTokens {
                let next = (0..<batch).map { toks[(i + $0) % toks.count] }
                model.decodeStep(next, sequences: sequences, x: x)
                model.decodeLogits(x, rows: batch, into: out)
            }
            decode.append(Double(batch * generateTokens) / (MonotonicClock.seconds() - t))
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        let products = Self.prefillProducts(model.configuration, tokens: promptTokens, blocks: usedPath)
        let flop = products.map(\.gflop).reduce(0, +) + Self.attentionGFLOP(model.configuration, tokens: promptTokens, blocks: usedPath)
        let achieved = flop * prefill.max()! / Double(promptTokens)
        let sgemm = products.map(\.gflop).reduce(0, +) / Self.sgemmSeconds(products, threads: model.threads, repetitions: repetitions)
        return Result(model: model.name, threads: model.threads, prompt_tokens: promptTokens, gen_tokens: generateTokens, batch: batch,
                      path_length: usedPath,
                      prefill_tokens_per_second_best: prefill.max()!, prefill_tokens_per_second_median: median(prefill),
                      decode_tokens_per_second_best: decode.max()!, decode_tokens_per_second_median: median(decode),
                      prefill_gflop: flop, prefill_gflops_best: achieved, sgemm_gflops: sgemm,
                      prefill_fraction_of_sgemm: achieved / sgemm, blas_core: OpenBLASCore.name)
    }
}
