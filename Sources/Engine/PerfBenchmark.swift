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
                model.logits(x, rows: batch, into: out)
            }
            decode.append(Double(batch * generateTokens) / (MonotonicClock.seconds() - t))
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        return Result(model: model.name, threads: model.threads, prompt_tokens: promptTokens, gen_tokens: generateTokens, batch: batch,
                      path_length: usedPath,
                      prefill_tokens_per_second_best: prefill.max()!, prefill_tokens_per_second_median: median(prefill),
                      decode_tokens_per_second_best: decode.max()!, decode_tokens_per_second_median: median(decode))
    }
}
