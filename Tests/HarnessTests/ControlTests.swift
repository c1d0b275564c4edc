import Benchmarks
import Engine
import Foundation
import Reports
import Routing
import Runs
import Supervision
import Support
import XCTest

/// A synthetic MCTS record: `best` is the shortest correct path found (nil: none).
private func oracleRecord(_ id: String, task: String = "toy", defaultCorrect: Bool, best: [Int]?, layers: Int = 4) -> SupervisionRecord {
    let labels = best.map { LayerPath($0).multiplicities(layerCount: layers) }
    return SupervisionRecord(task: task, id: id, prompt: "p", promptTokens: 3, defaultCorrect: defaultCorrect, kept: best != nil,
                             improved: !defaultCorrect && best != nil, bestPath: best, labels: labels,
                             layersSaved: best.map { layers - $0.count }, pathsEvaluated: 5, simulations: 5, stoppedEarly: false,
                             blocksComputed: 0, blocksReused: 0, seconds: 0)
}

/// The static control's candidates and the control table, on synthetic records.
final class ControlTableTests: XCTestCase {
    func testStaticPathCandidatesRankBestPathsAndAddTheMajority() {
        let records = [
            oracleRecord("a", defaultCorrect: true, best: [0, 1, 3]),
            oracleRecord("b", defaultCorrect: true, best: [0, 1, 3]),
            oracleRecord("c", defaultCorrect: false, best: [0, 2, 3]),
            oracleRecord("d", defaultCorrect: false, best: [0, 1, 1, 2, 3]),
            oracleRecord("e", defaultCorrect: false, best: nil),
        ]
        let candidates = StaticPathSearch.candidates(records: records, layerCount: 4, count: 2)
        // Majority per block over the 4 kept label rows: block 0 execute ×4; block 1 execute 3 (a, b, d: 1, 1, 2 → 1 twice,
        // repeat once) vs skip 1 → execute; block 2 skip 2 (a, b) vs execute 2 (c, d) → execute wins the tie; block 3 execute.
        XCTAssertEqual(candidates.map(\.path), [[0, 1, 2, 3], [0, 1, 3], [0, 2, 3]])
        XCTAssertEqual(candidates.map(\.origin), ["default+majority", "mcts", "mcts"])
        XCTAssertEqual(candidates.map(\.frequency), [0, 2, 1], "ties in frequency go to the shorter path, then by blocks")
        XCTAssertEqual(StaticPathSearch.candidates(records: records, layerCount: 4, count: 0).count, 1)
        // A majority that differs from the default is its own candidate.
        let skipping = [oracleRecord("a", defaultCorrect: true, best: [0, 2, 3]), oracleRecord("b", defaultCorrect: true, best: [0, 3])]
        XCTAssertEqual(StaticPathSearch.candidates(records: skipping, layerCount: 4, count: 0).map(\.origin), ["default", "majority"])
        XCTAssertEqual(StaticPathSearch.candidates(records: skipping, layerCount: 4, count: 0)[1].path, [0, 2, 3],
                       "block 1: skip twice; block 2: execute once, skip once → execute")
    }

    private func run(_ name: String, correct: [Bool], paths: [[Int]]? = nil) -> TaskResults {
        let records = correct.enumerated().map { i, c in sampleRecord(index: i, correct: c, path: paths?[i] ?? [0, 1, 2, 3]) }
        return TaskResults(summary: sampleSummary(sampleConfiguration(run: name), records), records: records)
    }

    func testControlTableNumbers() throws {
        // Six documents; the oracle searched five of them (doc-0 … doc-4).
        let baseline = run("baseline", correct: [true, false, false, true, false, true])
        let routed = run("routed", correct: [true, true, false, false, false, true],
                         paths: [[0, 1, 3], [0, 1, 2, 3], [0, 2, 3], [0, 1, 2, 3], [1, 2, 3], [0, 1, 2, 3]])
        let oracle = [
            oracleRecord("doc-0", defaultCorrect: true, best: [0, 3]),
            oracleRecord("doc-1", defaultCorrect: false, best: [0, 1, 3]),
            oracleRecord("doc-2", defaultCorrect: false, best: nil),
            oracleRecord("doc-3", defaultCorrect: true, best: [0, 1, 2, 3]),
            oracleRecord("doc-4", defaultCorrect: true, best: [0, 1, 2]),  // disagrees with the baseline run's verdict
        ]
        let report = try ControlReport(model: "tiny", layerCount: 4, oracle: oracle,
                                       runs: [("baseline", ["toy": baseline]), ("routed", ["toy": routed])], resamples: 2000)
        let t = try XCTUnwrap(report.tasks.first)
        XCTAssertEqual(t.arms.map(\.name), ["baseline", "routed", "oracle"])
        XCTAssertEqual(t.arms.map(\.n), [5, 5, 5])
        XCTAssertEqual(t.arms[0].accuracy.delta, 40, accuracy: 1e-9)
        XCTAssertEqual(t.arms[1].accuracy.delta, 40, accuracy: 1e-9)
        XCTAssertEqual(t.arms[2].accuracy.delta, 80, accuracy: 1e-9)
        XCTAssertNil(t.arms[0].delta)
        XCTAssertEqual(t.arms[1].delta!.delta, 0, accuracy: 1e-9)
        XCTAssertEqual(t.arms[2].delta!.delta, 40, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(t.arms[2].accuracy.lower, 80)
        XCTAssertGreaterThanOrEqual(t.arms[2].accuracy.upper, 80)
        XCTAssertEqual(t.arms[1].meanPathLength, Double(3 + 4 + 3 + 4 + 3) / 5, accuracy: 1e-12)
        XCTAssertEqual(t.arms[2].meanPathLength, Double(2 + 3 + 4 + 4 + 3) / 5, accuracy: 1e-12, "no path found: the default's length")
        XCTAssertEqual(t.wrongDefaults, 2)
        XCTAssertEqual(t.wrongMadeRight, 1)
        XCTAssertEqual(t.meanSavedWhenRight, Double(2 + 0 + 1) / 3, accuracy: 1e-12)
        XCTAssertEqual(t.defaultDisagreements, 1)
        XCTAssertEqual(try XCTUnwrap(t.headroomCaptured(by: "routed")), 0, accuracy: 1e-12)
        let markdown = report.markdown(commands: ["bench oracle"])
        XCTAssertTrue(markdown.contains("| toy | oracle | 5 | 80.0 |"), markdown)
        XCTAssertTrue(markdown.contains("| toy | 5 | 3 | 1/2 | 50.0% | 1.00 | 1 |"), markdown)
        XCTAssertEqual(report.csv().split(separator: "\n").count, 4)
        let svg = report.svg()
        XCTAssertTrue(svg.hasPrefix("<?xml") && svg.hasSuffix("</svg>\n"))
        XCTAssertEqual(svg.components(separatedBy: "<rect x=").count - 1, 3 + 3, "three bars and three legend boxes")

        XCTAssertThrowsError(try ControlReport(model: "tiny", layerCount: 4, oracle: oracle,
                                               runs: [("baseline", ["toy": baseline]), ("static", [:])])) { error in
            XCTAssertEqual(error as? SupervisionError, .missingRunTask(run: "static", task: "toy"))
        }
        XCTAssertThrowsError(try ControlReport(model: "tiny", layerCount: 4, oracle: [oracleRecord("elsewhere", defaultCorrect: true, best: nil)],
                                               runs: [("baseline", ["toy": baseline])])) { error in
            XCTAssertEqual(error as? SupervisionError, .nothingToControl)
        }
    }

    func testRouterTrainingReportComparesWithAlwaysExecute() throws {
        // Labels: mostly execute, so always "execute" is a strong baseline.
        var g = SplitMix64(seed: 5)
        let examples = (0..<40).map { i in
            RouterTrainingExample(id: "e\(i)", layerCount: 2, windowCount: 1, width: 4,
                                  pooled: (0..<8).map { _ in Float(2 * g.nextUnit() - 1) }, labels: [1, i % 5 == 0 ? 0 : 1])
        }
        var config = RouterTrainingConfig()
        config.epochs = 3
        config.bottleneck = 4
        config.windows = 1
        config.heldOutFraction = 0.25
        let result = try RouterTrainer(config: config).train(examples: examples)
        let report = RouterTrainingReport(model: "tiny", records: "r.jsonl", command: "bench train-router", examples: examples, result: result)
        let heldOut = try XCTUnwrap(report.heldOutAlwaysExecute)
        let labels = result.heldOutIndices.flatMap { examples[$0].labels }
        XCTAssertEqual(heldOut.accuracy, Double(labels.filter { $0 == 1 }.count) / Double(labels.count), accuracy: 1e-12)
        XCTAssertEqual(result.routers.provenance.metrics["heldout_always_execute.accuracy"]!, heldOut.accuracy, accuracy: 1e-12)
        XCTAssertEqual(report.heldOutExamples, 10)
        let markdown = report.markdown()
        let beats = report.heldOut!.accuracy > heldOut.accuracy
        XCTAssertTrue(markdown.contains(beats ? "score above always" : "do **not** beat always"), markdown)
        XCTAssertEqual(report.csv().split(separator: "\n").count, 1 + 3)
        for svg in [report.accuracySVG(), report.lossSVG()] {
            XCTAssertTrue(svg.hasPrefix("<?xml") && svg.hasSuffix("</svg>\n"))
            XCTAssertTrue(svg.contains("<polyline"))
        }
    }
}

/// The oracle and the static control on the real default model.
final class ControlRealModelTests: XCTestCase {
    func testOracleSearchesTheFirstTestDocumentsAndAgreesWithTheBaselineRun() throws {
        let model = try loadDefaultModel()
        var config = MCTSConfig()
        config.simulations = 4
        let generator = SupervisionGenerator(model: model, tasksDirectory: repositoryTasks,
                                             sources: [SupervisionSource(task: "arc_easy", count: 4)], config: config, seed: 0,
                                             chatTemplate: ChatMLTemplate.smolLM2, selection: .firstEvaluation)
        let records = try generator.run(output: try makeTemporaryFolder(self).appendingPathComponent("oracle.jsonl"), concurrency: 3)
        // The committed baseline run scored the same first test documents on the default path.
        let baseline = try ResultsStore(root: repositoryRoot.appendingPathComponent("results"))
            .loadRecords(model: "smollm2-135m-instruct", run: "baseline", task: "arc_easy")
        XCTAssertEqual(records.map(\.id), baseline.prefix(4).map(\.id))
        XCTAssertEqual(records.map(\.defaultCorrect), baseline.prefix(4).map { $0.metrics["acc,none"] == 1 })
        for r in records where r.kept { XCTAssertEqual(r.bestPath!.count + r.layersSaved!, model.layerCount) }
    }

    func testStaticPathJudgesCandidatesLikeTheSearchAndIndependentlyOfBatch() throws {
        let model = try loadDefaultModel()
        let folder = try makeTemporaryFolder(self)
        let committed = try SupervisionGenerator.readRecords(repositoryRoot.appendingPathComponent("data/mcts/smollm2-135m-instruct-400.jsonl"))
        let arcEasy = committed.filter { $0.task == "arc_easy" }.prefix(3), arcChallenge = committed.filter { $0.task == "arc_challenge" }.prefix(2)
        let file = folder.appendingPathComponent("records.jsonl")
        var data = Data()
        for r in Array(arcEasy) + Array(arcChallenge) { data.append(try CanonicalJSON.lineData(r)) }
        try data.write(to: file)
        func select(batch: Int) throws -> StaticPathSelection {
            try StaticPathSearch.select(model: model, modelName: "smollm2", recordsFile: file.path, tasksDirectory: repositoryTasks,
                                        chatTemplate: ChatMLTemplate.smolLM2, count: 2, perTask: 2, batch: batch)
        }
        let one = try select(batch: 1), together = try select(batch: 3)
        XCTAssertEqual(one, together)
        XCTAssertEqual(one.candidates.first?.path, Array(0..<model.layerCount))
        XCTAssertTrue(one.candidates.allSatisfy { $0.examples == 4 })
        // The default path is judged as the search judged it: the records' own verdicts.
        let judged = Array(arcEasy.prefix(2)) + Array(arcChallenge.prefix(2))
        XCTAssertEqual(one.candidates[0].correct, judged.filter(\.defaultCorrect).count)
        let best = one.candidates.map(\.correct).max()!
        XCTAssertEqual(one.candidates[one.chosen].correct, best)
    }
}
