import Foundation
import Support

/// Decode attention alone at a long context: one token's attention over `positions` cached
/// positions in every layer of a model's shape, on synthetic caches (one per layer, so the layers
/// do not share cache lines, as in a real decode), single-threaded. It times the engine's kernel
/// two ways with the same numbers: the heads of each query group together (`attendHeads`, what
/// decode does) and one head at a time (`attendOneHead`, what decode did before), in alternating
/// rounds, so the gain of reading a long cache once per key/value head is measured side by side.
public struct DecodeAttentionBenchmark {
    /// The measured times.
    public struct Result: Codable, Sendable {
        public var model: String
        public var positions: Int
        public var layers: Int
        public var query_heads: Int
        public var kv_heads: Int
        public var head_dimension: Int
        /// Alternating rounds of each way; the medians are reported.
        public var rounds: Int
        /// Tokens (every layer's attention once) timed per round.
        public var tokens_per_round: Int
        /// Milliseconds of attention per token, every layer, query groups together.
        public var grouped_ms_per_token_median: Double
        /// The same, one head at a time.
        public var one_head_at_a_time_ms_per_token_median: Double
        /// `one_head_at_a_time / grouped`.
        public var speedup: Double
        /// f32 keys and values read per token, in MB (each layer's key and value heads once).
        public var cache_mb_per_token: Double
    }

    public let configuration: ModelConfiguration
    public let modelName: String

    public init(configuration: ModelConfiguration, modelName: String) {
        self.configuration = configuration
        self.modelName = modelName
    }

    /// Times `rounds` alternating rounds of each way, each round `tokensPerRound` tokens.
    public func run(positions: Int, rounds: Int, tokensPerRound: Int) -> Result {
        precondition(positions >= 1 && rounds >= 1 && tokensPerRound >= 1)
        let c = configuration, hd = c.headDimension, kv = c.kvWidth, qw = c.headCount * hd
        let group = c.headCount / c.kvHeadCount
        let scale = 1 / Float(hd).squareRoot()
        // A 64-bit LCG (Knuth's MMIX constants): the values only need to be ordinary floats.
        var state: UInt64 = 1
        func random() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2_001 - 1_000) / 1_000
        }
        let caches = (0..<c.layerCount).map { _ in KVCache(capacity: positions, kvWidth: kv, headDimension: hd) }
        let key = UnsafeMutablePointer<Float>.allocate(capacity: kv), value = UnsafeMutablePointer<Float>.allocate(capacity: kv)
        defer { key.deallocate(); value.deallocate() }
        for cache in caches {
            let slot = cache.slot(0)
            for p in 0..<positions {
                for i in 0..<kv { key[i] = random(); value[i] = random() }
                slot.store(position: p, key: key, value: value, kvWidth: kv)
            }
        }
        let query = UnsafeMutablePointer<Float>.allocate(capacity: qw)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: qw)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: positions * group)
        defer { query.deallocate(); out.deallocate(); scores.deallocate() }
        for i in 0..<qw { query[i] = random() }

        func token(grouped: Bool) {
            for cache in caches {
                let slot = cache.slot(0)
                for g in 0..<c.kvHeadCount {
                    let keys = slot.keys + g * hd, values = slot.values + g * hd
                    let blocks = slot.keyBlocks(head: g), blockStride = slot.blockStride
                    if grouped {
                        Kernels.attendHeads(queries: query + g * group * hd, headCount: group, keys: keys, values: values,
                                            stride: kv, keyBlocks: blocks, blockStride: blockStride, count: positions,
                                            dimension: hd, scale: scale, scores: scores, out: out + g * group * hd)
                    } else {
                        for h in g * group..<(g + 1) * group {
                            Kernels.attendOneHead(query: query + h * hd, keys: keys, values: values, stride: kv,
                                                  keyBlocks: blocks, blockStride: blockStride, count: positions,
                                                  dimension: hd, scale: scale, scores: scores, out: out + h * hd)
                        }
                    }
                }
            }
        }
        var groupedTimes: [Double] = [], oneHeadTimes: [Double] = []
        token(grouped: true) // warm-up: first touches of the buffers
        for _ in 0..<rounds {
            for grouped in [true, false] {
                let t = MonotonicClock.seconds()
                for _ in 0..<tokensPerRound { token(grouped: grouped) }
                let ms = (MonotonicClock.seconds() - t) * 1000 / Double(tokensPerRound)
                if grouped { groupedTimes.append(ms) } else { oneHeadTimes.append(ms) }
            }
        }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        let grouped = median(groupedTimes), oneHead = median(oneHeadTimes)
        return Result(model: modelName, positions: positions, layers: c.layerCount, query_heads: c.headCount,
                      kv_heads: c.kvHeadCount, head_dimension: hd, rounds: rounds, tokens_per_round: tokensPerRound,
                      grouped_ms_per_token_median: grouped, one_head_at_a_time_ms_per_token_median: oneHead,
                      speedup: oneHead / grouped,
                      cache_mb_per_token: Double(c.layerCount * positions * kv * 2 * MemoryLayout<Float>.size) / 1e6)
    }
}
