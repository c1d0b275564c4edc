import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import Routing
import XCTest

/// MCTS records share the run records' JSON-lines reader: torn last lines are not records,
/// corrupt or repeated ones are errors naming the file.
final class SupervisionRecordsTests: XCTestCase {
    private func line(_ id: String) -> String {
        #"{"blocksComputed":0,"blocksReused":0,"defaultCorrect":true,"id":"\#(id)","improved":false,"kept":true,"#
            + #""pathsEvaluated":1,"prompt":"p","promptTokens":3,"seconds":0.1,"simulations":0,"stoppedEarly":true,"task":"arc_easy"}"#
    }

    private func write(_ text: String) throws -> URL {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("mcts-\(UUID().uuidString).jsonl")
        try Data(text.utf8).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testTornLastLineIsIgnored() throws {
        let url = try write(line("a") + "\n" + line("b") + "\n" + #"{"task":"arc"#)
        XCTAssertEqual(try SupervisionGenerator.readRecords(url).map(\.id), ["a", "b"])
    }

    func testCorruptOrRepeatedLinesAreErrors() throws {
        let corrupt = try write(line("a") + "\nnot json\n" + line("b") + "\n")
        XCTAssertThrowsError(try SupervisionGenerator.readRecords(corrupt)) { error in
            guard case let .corruptRecord(file, line, _)? = error as? RunError else { return XCTFail("\(error)") }
            XCTAssertEqual(file, corrupt.path)
            XCTAssertEqual(line, 2)
        }
        let repeated = try write(line("a") + "\n" + line("a") + "\n")
        XCTAssertThrowsError(try SupervisionGenerator.readRecords(repeated)) { error in
            XCTAssertEqual(error as? RunError, .duplicateRecord(file: repeated.path, id: "arc_easy/a"))
        }
    }

    func testMissingFileHasNoRecords() throws {
        XCTAssertEqual(try SupervisionGenerator.readRecords(URL(fileURLWithPath: "/nonexistent/mcts.jsonl")).count, 0)
    }
}

/// `bench mcts`'s generator on the real default model: a larger mix extends a finished run
/// (the first records stay, the plan's new examples are searched) and gives exactly the records
/// a single run of the larger mix gives.
final class SupervisionGeneratorRealModelTests: XCTestCase {
    func testAGrownMixResumesToTheRecordsOfOneRun() throws {
        let model = try loadDefaultModel()
        var config = MCTSConfig()
        config.simulations = 3
        func generator(_ count: Int) -> SupervisionGenerator {
            SupervisionGenerator(model: model, tasksDirectory: repositoryTasks,
                                 sources: [SupervisionSource(task: "arc_easy", count: count)],
                                 config: config, seed: 5, chatTemplate: ChatMLTemplate.smolLM2)
        }
        func strip(_ records: [SupervisionRecord]) -> [SupervisionRecord] {
            records.map { var r = $0; r.seconds = 0; return r }
        }
        let folder = try makeTemporaryFolder(self)
        let grown = folder.appendingPathComponent("grown.jsonl"), once = folder.appendingPathComponent("once.jsonl")

        var already: [Int] = []
        let first = try generator(2).run(output: grown, started: { done, _ in already.append(done) })
        XCTAssertEqual(first.count, 2)
        var searched = 0
        let resumed = try generator(3).run(output: grown, started: { done, _ in already.append(done) },
                                           progress: { _ in searched += 1 })
        XCTAssertEqual(already, [0, 2], "examples already in the output, told before searching")
        XCTAssertEqual(searched, 1, "only the new example is searched")
        XCTAssertEqual(strip(Array(resumed.prefix(2))), strip(first))
        XCTAssertEqual(strip(try SupervisionGenerator.readRecords(grown)), strip(resumed))

        let single = try generator(3).run(output: once)
        XCTAssertEqual(strip(single), strip(resumed))
        for r in single where r.kept {
            XCTAssertEqual(r.labels?.count, 30, "one label per block")
        }
    }
}

/// Searching several examples together (their paths judged in one batch) writes the same file as
/// searching them one at a time, `seconds` aside, for generative and multiple-choice rewards; and
/// it reproduces a record committed before batching existed.
final class BatchedSupervisionRealModelTests: XCTestCase {
    private func strip(_ records: [SupervisionRecord]) -> [SupervisionRecord] {
        records.map { var r = $0; r.seconds = 0; return r }
    }

    func testRecordsDoNotDependOnHowManyExamplesAreSearchedTogether() throws {
        let model = try loadDefaultModel()
        var config = MCTSConfig()
        config.simulations = 4
        let generator = SupervisionGenerator(
            model: model, tasksDirectory: repositoryTasks,
            sources: [SupervisionSource(task: "arc_easy", count: 3), SupervisionSource(task: "arc_challenge_letter", count: 2)],
            config: config, seed: 8, chatTemplate: ChatMLTemplate.smolLM2)
        let folder = try makeTemporaryFolder(self)
        let one = folder.appendingPathComponent("one.jsonl"), together = folder.appendingPathComponent("together.jsonl")
        let a = try generator.run(output: one, concurrency: 1)
        var order: [String] = []
        let b = try generator.run(output: together, concurrency: 4, progress: { order.append($0.id) })
        XCTAssertEqual(strip(a), strip(b))
        XCTAssertEqual(order, a.map(\.id), "records arrive and are written in plan order")
        XCTAssertEqual(strip(try SupervisionGenerator.readRecords(together)), strip(a))
        XCTAssertEqual(Set(a.map(\.task)), ["arc_easy", "arc_challenge_letter"])
        XCTAssertTrue(a.contains { $0.pathsEvaluated > 1 })
    }

    func testReproducesTheFirstCommittedSmolLM2Record() throws {
        let model = try loadDefaultModel()
        let committed = try SupervisionGenerator.readRecords(
            repositoryRoot.appendingPathComponent("data/mcts/smollm2-135m-instruct.jsonl"))[0]
        let generator = SupervisionGenerator(model: model, tasksDirectory: repositoryTasks,
                                             sources: [SupervisionSource(task: "arc_easy", count: 1)],
                                             config: MCTSConfig(), seed: 0, chatTemplate: ChatMLTemplate.smolLM2)
        var mine = try generator.run(output: try makeTemporaryFolder(self).appendingPathComponent("r.jsonl"), concurrency: 4)[0]
        // Searches with a multiple-choice reward now reuse path prefixes too; the file predates that.
        XCTAssertGreaterThan(mine.blocksComputed, 0)
        mine.blocksComputed = committed.blocksComputed
        mine.blocksReused = committed.blocksReused
        XCTAssertEqual(strip([mine]), strip([committed]))
    }
}
