@testable import Engine
import XCTest

/// `bench perf` on the real model at toy sizes: the batched decode measurement runs every
/// sequence along the requested path and reports what it measured.
final class PerfBenchmarkTests: XCTestCase {
    func testBatchedDecodeMeasurement() throws {
        let model = try SharedModel.get()
        let skip = LayerPath(Array(0..<30).filter { $0 != 3 })
        for (policy, length) in [(LayerPolicy.full, 30), (.fixed(skip), 29)] {
            let result = try PerfBenchmark(model: model).run(promptTokens: 20, generateTokens: 4, repetitions: 1,
                                                             policy: policy, batch: 3)
            XCTAssertEqual(result.batch, 3)
            XCTAssertEqual(result.prompt_tokens, 20)
            XCTAssertEqual(result.gen_tokens, 4)
            XCTAssertEqual(result.path_length, length)
            for speed in [result.prefill_tokens_per_second_best, result.decode_tokens_per_second_best,
                          result.prefill_gflops_best, result.sgemm_gflops, result.prefill_fraction_of_sgemm] {
                XCTAssertTrue(speed.isFinite && speed > 0, "speed \(speed)")
            }
            XCTAssertEqual(result.prefill_gflops_best, result.prefill_gflop * result.prefill_tokens_per_second_best / 20,
                           accuracy: 1e-9 * result.prefill_gflops_best)
        }
    }

    func testPrefillFLOPCountsByHand() throws {
        let c = try SharedModel.get().configuration
        // SmolLM2-135M: width 576, 9 heads × 64, 3 KV heads × 64, feed-forward 1,536, vocabulary 49,152.
        XCTAssertEqual([c.width, c.headCount, c.headDimension, c.kvWidth, c.feedForwardWidth, c.vocabularySize],
                       [576, 9, 64, 192, 1536, 49152])
        let products = PerfBenchmark.prefillProducts(c, tokens: 10, blocks: 2)
        // Per block and token: q and o 576 × 576 each, k and v 576 × 192 each, gate, up and down 576 × 1,536 each.
        let weightsPerBlock: Double = 2 * 331_776 + 2 * 110_592 + 3 * 884_736
        let head: Double = 576 * 49152
        let expected: Double = (2 * weightsPerBlock * 10 * 2 + 2 * head) / 1e9
        XCTAssertEqual(products.map(\.gflop).reduce(0, +), expected, accuracy: 1e-12)
        // Attention: 2 products × 2 FLOP × 576 query dims × 55 causal pairs × 2 blocks.
        let attention: Double = 2 * 2 * 576 * 55 * 2
        XCTAssertEqual(PerfBenchmark.attentionGFLOP(c, tokens: 10, blocks: 2), attention / 1e9, accuracy: 1e-15)
    }
}
