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
            for speed in [result.prefill_tokens_per_second_best, result.decode_tokens_per_second_best] {
                XCTAssertTrue(speed.isFinite && speed > 0, "speed \(speed)")
            }
        }
    }
}
