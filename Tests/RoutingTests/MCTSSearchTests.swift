import Engine
import Routing
import XCTest

/// A scorer that records every call, so tests can check what the search evaluated.
final class RecordingScorer: PathScorer {
    let verdict: (LayerPath) -> Bool
    private(set) var calls: [LayerPath] = []
    init(_ verdict: @escaping (LayerPath) -> Bool) { self.verdict = verdict }
    func isCorrect(_ path: LayerPath) throws -> Bool {
        calls.append(path)
        return verdict(path)
    }
}

struct ScorerFailure: Error, Equatable {}

final class MCTSSearchTests: XCTestCase {
    /// Skip block 3 and repeat block 5 of an 8-block model.
    let target = LayerPath([0, 1, 2, 4, 5, 5, 6, 7])

    func assertValid(_ paths: [LayerPath], layerCount: Int, file: StaticString = #filePath, line: UInt = #line) {
        for p in paths {
            XCTAssertNoThrow(try p.validate(layerCount: layerCount), "\(p)", file: file, line: line)
            XCTAssertLessThanOrEqual(p.count, 2 * layerCount, file: file, line: line)
            XCTAssertTrue(p.multiplicities(layerCount: layerCount).allSatisfy { $0 <= 2 }, "\(p)", file: file, line: line)
        }
    }

    func testEditsOfTheDefaultPath() {
        let edits = MCTSSearch.edits(of: .full(4), layerCount: 4)
        // 4 single skips + 3 double skips + 4 repeats, all distinct.
        XCTAssertEqual(edits.count, 11)
        XCTAssertEqual(edits.first, LayerPath([1, 2, 3]))
        XCTAssertTrue(edits.contains(LayerPath([0, 3])))        // skip 1 and 2
        XCTAssertTrue(edits.contains(LayerPath([0, 1, 1, 2, 3])))
        XCTAssertFalse(edits.contains(.full(4)))
        assertValid(edits, layerCount: 4)
    }

    func testEditsNeverRepeatABlockThreeTimesOrEmptyThePath() {
        // Skipping either copy of a repeated block gives the same path: listed once.
        XCTAssertEqual(MCTSSearch.edits(of: LayerPath([0, 0, 1]), layerCount: 2),
                       [LayerPath([0, 1]), LayerPath([0, 0]), LayerPath([1]), LayerPath([0]), LayerPath([0, 0, 1, 1])])
        XCTAssertEqual(MCTSSearch.edits(of: LayerPath([0]), layerCount: 3), [LayerPath([0, 0])])
        XCTAssertEqual(MCTSSearch.edits(of: LayerPath([1, 1]), layerCount: 3), [LayerPath([1])])
        XCTAssertEqual(MCTSSearch.edits(of: .full(3), layerCount: 3, maxSkipRun: 1).count, 3 + 3)
    }

    func testFindsTheKnownBestPathAndRespectsTheConstraints() throws {
        let scorer = RecordingScorer { $0 == self.target }
        let config = MCTSConfig(simulations: 2000)
        let outcome = try MCTSSearch(layerCount: 8, config: config).run(scorer: scorer, seed: 11)
        XCTAssertFalse(outcome.defaultCorrect)
        XCTAssertEqual(outcome.bestPath, target)
        XCTAssertEqual(outcome.labels, [1, 1, 1, 0, 1, 2, 1, 1])
        XCTAssertTrue(outcome.kept)
        XCTAssertTrue(outcome.improved)
        XCTAssertTrue(outcome.stoppedEarly) // a wrong default became right
        XCTAssertEqual(outcome.layersSaved, 0)
        // Every scorer call is a distinct, valid path, and the first is the default.
        XCTAssertEqual(scorer.calls.first, .full(8))
        XCTAssertEqual(Set(scorer.calls).count, scorer.calls.count)
        XCTAssertEqual(outcome.evaluations, scorer.calls.count)
        XCTAssertEqual(outcome.evaluated.map(\.path), scorer.calls)
        XCTAssertLessThanOrEqual(outcome.evaluations, outcome.simulations + 1)
        assertValid(scorer.calls, layerCount: 8)
    }

    func testDefaultBudgetIsFiftySimulations() throws {
        let scorer = RecordingScorer { _ in false }
        let outcome = try MCTSSearch(layerCount: 8).run(scorer: scorer, seed: 1)
        XCTAssertEqual(outcome.simulations, 50)
        XCTAssertLessThanOrEqual(outcome.evaluations, 51)
        XCTAssertEqual(Set(scorer.calls).count, scorer.calls.count)
        assertValid(scorer.calls, layerCount: 8)
        // Nothing correct: not kept, no label.
        XCTAssertFalse(outcome.kept)
        XCTAssertNil(outcome.bestPath)
        XCTAssertNil(outcome.labels)
        XCTAssertFalse(outcome.stoppedEarly)
        XCTAssertEqual(outcome.correctPaths, 0)
        // The tree grows deeper than one edit (progressive widening), so compound edits appear.
        XCTAssertTrue(scorer.calls.contains { p in
            p.multiplicities(layerCount: 8).filter { $0 != 1 }.count >= 3
        })
    }

    func testRobustModelStopsOnceTwoBlocksAreSaved() throws {
        // Correct whenever the first and last blocks run: most short paths are fine.
        let scorer = RecordingScorer { p in p.blocks.contains(0) && p.blocks.contains(7) }
        let outcome = try MCTSSearch(layerCount: 8).run(scorer: scorer, seed: 5)
        XCTAssertTrue(outcome.defaultCorrect)
        XCTAssertTrue(outcome.kept)
        XCTAssertFalse(outcome.improved)
        XCTAssertTrue(outcome.stoppedEarly)
        let best = try XCTUnwrap(outcome.bestPath)
        XCTAssertLessThanOrEqual(best.count, 6)
        XCTAssertTrue(try scorer.isCorrect(best))
        XCTAssertEqual(outcome.labels, best.multiplicities(layerCount: 8))
        XCTAssertEqual(LayerPath.fromMultiplicities(outcome.labels!), best)
        // The search stopped right after its last evaluation found the saving.
        let last = try XCTUnwrap(outcome.evaluated.last)
        XCTAssertTrue(last.correct && last.path.count <= 6)
        XCTAssertEqual(last.simulation, outcome.simulations)
    }

    func testCorrectDefaultIsItsOwnLabelWhenNothingShorterWorks() throws {
        let outcome = try MCTSSearch(layerCount: 6).run(scorer: ClosurePathScorer { $0 == .full(6) }, seed: 2)
        XCTAssertTrue(outcome.defaultCorrect)
        XCTAssertEqual(outcome.bestPath, .full(6))
        XCTAssertEqual(outcome.labels, [1, 1, 1, 1, 1, 1])
        XCTAssertTrue(outcome.kept)
        XCTAssertEqual(outcome.simulations, 50)
    }

    func testBestPathIsTheShortestCorrectOne() throws {
        // Correct: the default and every path that skips block 2 (with or without more edits).
        let outcome = try MCTSSearch(layerCount: 6, config: MCTSConfig(simulations: 200, earlyStop: false))
            .run(scorer: ClosurePathScorer { !$0.blocks.contains(2) || $0 == .full(6) }, seed: 9)
        let correct = outcome.evaluated.filter(\.correct).map(\.path)
        let best = try XCTUnwrap(outcome.bestPath)
        XCTAssertEqual(best.count, correct.map(\.count).min())
        for p in correct where p != best {
            XCTAssertTrue(MCTSSearch.isPreferred(best, over: p, layerCount: 6), "\(best) vs \(p)")
        }
        XCTAssertEqual(outcome.simulations, 200)
    }

    func testTieRule() {
        let L = 6
        // Shorter wins.
        XCTAssertTrue(MCTSSearch.isPreferred(LayerPath([0, 1, 2, 3]), over: LayerPath([0, 1, 2, 3, 4]), layerCount: L))
        // Same length: fewer edited blocks wins ([0,1,2,3] skips 2; [0,0,1,3] skips 3 and repeats 1).
        XCTAssertTrue(MCTSSearch.isPreferred(LayerPath([0, 1, 2, 3]), over: LayerPath([0, 0, 1, 3]), layerCount: L))
        // Same length and edits: lexicographically smallest block list wins.
        XCTAssertTrue(MCTSSearch.isPreferred(LayerPath([0, 1, 2, 4]), over: LayerPath([0, 1, 3, 4]), layerCount: L))
        XCTAssertFalse(MCTSSearch.isPreferred(LayerPath([0, 1, 3, 4]), over: LayerPath([0, 1, 2, 4]), layerCount: L))
    }

    func testDeterministicForASeed() throws {
        let verdict: (LayerPath) -> Bool = { $0.count <= 5 && $0.blocks.contains(3) }
        let search = MCTSSearch(layerCount: 8, config: MCTSConfig(simulations: 80, earlyStop: false))
        let a = try search.run(scorer: ClosurePathScorer(verdict), seed: 123)
        let b = try search.run(scorer: ClosurePathScorer(verdict), seed: 123)
        XCTAssertEqual(a, b)
        let c = try search.run(scorer: ClosurePathScorer(verdict), seed: 124)
        XCTAssertNotEqual(a.evaluated.map(\.path), c.evaluated.map(\.path))
    }

    func testScorerErrorsPropagate() {
        let search = MCTSSearch(layerCount: 4)
        XCTAssertThrowsError(try search.run(scorer: ClosurePathScorer { _ in throw ScorerFailure() }, seed: 0)) { error in
            XCTAssertEqual(error as? ScorerFailure, ScorerFailure())
        }
    }

    func testInvalidConfigurationIsRefused() {
        let search = MCTSSearch(layerCount: 4, config: MCTSConfig(randomChildProbability: 1.5))
        XCTAssertThrowsError(try search.run(scorer: ClosurePathScorer { _ in true }, seed: 0)) { error in
            guard case .invalidConfiguration? = error as? RoutingError else { return XCTFail("\(error)") }
        }
    }

    func testTinyModelExhaustsWithoutRepeatingEvaluations() throws {
        // L = 2 has only a handful of valid paths; the budget outlasts them.
        let scorer = RecordingScorer { _ in false }
        let outcome = try MCTSSearch(layerCount: 2, config: MCTSConfig(simulations: 100)).run(scorer: scorer, seed: 4)
        XCTAssertEqual(outcome.simulations, 100)
        XCTAssertEqual(Set(scorer.calls).count, scorer.calls.count)
        // Paths over 2 blocks with multiplicities 0…2, not all zero: 3² − 1 = 8.
        XCTAssertLessThanOrEqual(scorer.calls.count, 8)
        assertValid(scorer.calls, layerCount: 2)
    }
}

/// The search as a resumable state (what `bench mcts` drives for several examples at once).
final class MCTSSearchStateTests: XCTestCase {
    /// Two searches advanced in alternation, one verdict at a time, end exactly as each run alone,
    /// asking for the same paths in the same order.
    func testInterleavedSearchesEqualSeparateRuns() throws {
        let search = MCTSSearch(layerCount: 8)
        let verdicts: [(LayerPath) -> Bool] = [
            { !$0.blocks.contains(3) },
            { $0.count <= 7 && $0.blocks.contains(5) },
        ]
        let seeds: [UInt64] = [11, 12]
        let alone = try (0..<2).map { i -> (MCTSOutcome, [LayerPath]) in
            let scorer = RecordingScorer(verdicts[i])
            return (try search.run(scorer: scorer, seed: seeds[i]), scorer.calls)
        }
        var states = try seeds.map { try search.start(seed: $0) }
        var asked: [[LayerPath]] = [[], []]
        var outcomes: [MCTSOutcome?] = [nil, nil]
        while outcomes.contains(where: { $0 == nil }) {
            for i in 0..<2 where outcomes[i] == nil {
                switch states[i].step {
                case let .evaluate(path):
                    asked[i].append(path)
                    states[i].resume(verdict: verdicts[i](path))
                case let .finished(outcome):
                    outcomes[i] = outcome
                }
            }
        }
        for i in 0..<2 {
            XCTAssertEqual(outcomes[i], alone[i].0)
            XCTAssertEqual(asked[i], alone[i].1)
        }
        XCTAssertGreaterThan(asked[0].count, 1)
    }

    func testStartRefusesAnInvalidConfiguration() {
        var config = MCTSConfig()
        config.simulations = -1
        XCTAssertThrowsError(try MCTSSearch(layerCount: 4, config: config).start(seed: 0))
    }
}
