import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

final class RoutingSpeedTests: XCTestCase {
    /// Repeats block 1 and skips the rest after it.
    struct FixedAnswers: PathDecider {
        func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
            layer == 1 ? 2 : (layer < 1 ? 1 : 0)
        }
    }

    func testTimedDeciderPassesAnswersThroughAndCountsDecisions() {
        let timed = TimedPathDecider(FixedAnswers())
        let hidden = [Float](repeating: 0, count: 8)
        let answers = hidden.withUnsafeBufferPointer { h in (0..<4).map { timed.decide(layer: $0, hidden: h, tokens: 2, width: 4) } }
        XCTAssertEqual(answers, [1, 2, 0, 0])
        XCTAssertEqual(timed.elapsed.decisions, 4)
        XCTAssertGreaterThanOrEqual(timed.elapsed.seconds, 0)
        timed.reset()
        XCTAssertEqual(timed.elapsed.decisions, 0)
        XCTAssertEqual(timed.elapsed.seconds, 0)
    }

    func testMeasureAnswersEveryDocumentUnderBothPolicies() throws {
        let arc = try BenchmarkRegistry.load("arc_easy", from: repositoryTasks)
        let model = FakeLanguageModel()
        let result = try RoutingSpeed.measure(model: model, benchmark: arc, indices: Array(0..<5), routers: FixedAnswers(),
                                              repetitions: 3, batchSize: 2)
        let choices = (0..<5).map { try! arc.request(at: $0).loglikelihoodRequests.count }.reduce(0, +)
        XCTAssertEqual(model.scoredRequests, 2 * 3 * choices, "each repetition scores every choice under both policies")
        XCTAssertEqual(model.calls, 2 * 3 * 3, "5 documents in batches of 2, per policy and repetition")
        XCTAssertEqual(result.documents, 5)
        XCTAssertEqual(result.repetitions, 3)
        // The fake uses 4 blocks per forward pass under both policies.
        XCTAssertEqual(result.baselineBlocks, Double(4 * choices) / 5, accuracy: 1e-12)
        XCTAssertEqual(result.routedBlocks, result.baselineBlocks, accuracy: 1e-12)
        XCTAssertEqual(result.blocksSaved, 0, accuracy: 1e-12)
        XCTAssertEqual(result.baselineGeneratedTokens, 0)
    }

    func testMarkdownAddsAnAllTasksRowWithSummedSecondsAndWeightedBlocks() {
        func task(_ name: String, docs: Int, base: Double, routed: Double, bb: Double, rb: Double) -> RoutingSpeed.TaskResult {
            RoutingSpeed.TaskResult(task: name, documents: docs, repetitions: 3, baselineSeconds: base, routedSeconds: routed,
                                    routerSeconds: 0.01, routerDecisions: 30, baselineBlocks: bb, routedBlocks: rb,
                                    baselineGeneratedTokens: 0, routedGeneratedTokens: 0)
        }
        let speed = RoutingSpeed(model: "m", routerFile: "r.routers", threads: 2,
                                 tasks: [task("a", docs: 1, base: 1, routed: 0.5, bb: 100, rb: 50),
                                         task("b", docs: 3, base: 3, routed: 3, bb: 100, rb: 100)])
        XCTAssertEqual(speed.tasks[0].timeRatio, 0.5)
        XCTAssertEqual(speed.tasks[0].blocksSaved, 0.5)
        XCTAssertEqual(speed.tasks[0].routerShare, 0.02, accuracy: 1e-12)
        let lines = speed.markdown().split(separator: "\n")
        let all = try! XCTUnwrap(lines.first { $0.hasPrefix("| **all**") })
        // 4 s vs 3.5 s; blocks (100 + 3·100)/4 = 100 vs (50 + 3·100)/4 = 87.5 → 12.5% saved.
        XCTAssertEqual(all, "| **all** | 4 | 4.00 | 3.50 | 0.875 | 100.0 | 87.5 | +12.50% | 0.0 | 0.0 | 20.0 ms | 0.571% |")
    }
}
