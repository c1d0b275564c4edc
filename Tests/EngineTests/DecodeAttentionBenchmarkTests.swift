@testable import Engine
import XCTest

/// `bench perf-attention` at a toy size: it times both ways over the model's shape and reports
/// what it measured.
final class DecodeAttentionBenchmarkTests: XCTestCase {
    func testReportsBothWaysOverTheModelsShape() throws {
        let c = try SharedModel.get().configuration
        let result = DecodeAttentionBenchmark(configuration: c, modelName: "toy").run(positions: 300, rounds: 2,
                                                                                      tokensPerRound: 1)
        XCTAssertEqual([result.positions, result.layers, result.query_heads, result.kv_heads, result.head_dimension,
                        result.rounds, result.tokens_per_round], [300, c.layerCount, 9, 3, 64, 2, 1])
        for ms in [result.grouped_ms_per_token_median, result.one_head_at_a_time_ms_per_token_median] {
            XCTAssertTrue(ms.isFinite && ms > 0, "ms \(ms)")
        }
        XCTAssertEqual(result.speedup, result.one_head_at_a_time_ms_per_token_median / result.grouped_ms_per_token_median)
        // 30 layers × 300 positions × 192 floats × (key + value) × 4 bytes.
        XCTAssertEqual(result.cache_mb_per_token, Double(c.layerCount * 300 * 192 * 2 * 4) / 1e6)
    }
}
