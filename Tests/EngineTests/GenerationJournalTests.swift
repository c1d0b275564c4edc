@testable import Engine
import XCTest

/// A run interrupted in the middle of a long answer resumes it from the tokens a
/// `GenerationJournal` kept: they are replayed as the decode steps that generated them. The
/// replayed keys and values must be those steps' own, bit for bit, and a resumed answer the
/// uninterrupted one.
final class GenerationJournalTests: XCTestCase {
    /// An in-memory journal that remembers what it was told.
    final class MemoryJournal: GenerationJournal {
        var sequences: [[Int32]: [Int32]] = [:]
        var recorded: [Int] = []
        var finishedCount = 0
        let recordInterval: Int
        init(recordInterval: Int) { self.recordInterval = recordInterval }
        func generatedSoFar(prompt: [Int32]) -> [Int32]? { sequences[prompt] }
        func record(prompt: [Int32], generated: [Int32]) {
            sequences[prompt] = generated
            recorded.append(generated.count)
        }
        func finished(prompt: [Int32]) {
            sequences[prompt] = nil
            finishedCount += 1
        }
    }

    /// Replaying k tokens (in calls of 11 rows: more than `quantizedRowLimit`, where consecutive
    /// rows of one sequence would otherwise take the prefill's sgemm attention; several calls and a
    /// short last one) leaves the
    /// keys and values that k one-row decode steps leave, bit for bit, and the same next token —
    /// along the full path and along one that skips and repeats blocks.
    func testReplayedTokensLeaveTheDecodeStepsKeysAndValuesBitForBit() throws {
        let model = try SharedModel.get()
        let layers = model.configuration.layerCount
        let prompt = model.encode("Question: list the first primes.\nAnswer: 2, 3, 5,")
        let d = model.configuration.width, vocab = model.configuration.vocabularySize, kv = model.configuration.kvWidth
        let skipping = LayerPath([0, 1, 1] + Array(3..<layers))
        for path in [LayerPath(Array(0..<layers)), skipping] {
            let steps = 25
            func prefilled() -> (SequenceState, Int32) {
                let s = model.makeSequence(capacity: prompt.count + steps + 1, path: path)
                let x = model.workspace.buffer(.hidden, prompt.count * d)
                model.forward(prompt[...], sequence: s, decider: nil, x: x)
                let out = model.workspace.buffer(.logits, vocab)
                model.logits(x + (prompt.count - 1) * d, rows: 1, into: out)
                return (s, TransformerModel.argmax(out, vocab))
            }
            // Decoded one step at a time, as generation does.
            let (stepped, first) = prefilled()
            var tokens: [Int32] = [], next = first
            for _ in 0..<steps {
                tokens.append(next)
                let x = model.workspace.buffer(.hidden, d)
                model.decodeStep([next], sequences: [stepped], x: x)
                let out = model.workspace.buffer(.logits, vocab)
                model.decodeLogits(x, rows: 1, into: out)
                next = TransformerModel.argmax(out, vocab)
            }
            // The same tokens replayed.
            let (replayed, replayFirst) = prefilled()
            XCTAssertEqual(replayFirst, first)
            let replayNext = model.replayDecodeSteps(tokens, sequence: replayed, rowsPerCall: 11)
            XCTAssertEqual(replayNext, next, "path \(path.blocks.count) blocks")
            XCTAssertEqual(replayed.length, stepped.length)
            let count = stepped.length * kv
            for slot in 0..<path.count {
                let a = stepped.cache.slot(slot), b = replayed.cache.slot(slot)
                let keys = (0..<count).filter { a.keys[$0].bitPattern != b.keys[$0].bitPattern }.count
                let values = (0..<count).filter { a.values[$0].bitPattern != b.values[$0].bitPattern }.count
                XCTAssertEqual(keys + values, 0, "path of \(path.count) blocks, slot \(slot): replayed keys/values differ")
            }
        }
    }

    /// A generation resumed from any number of journalled tokens gives the uninterrupted answer;
    /// the journal is told the tokens every `recordInterval` and is cleared when the answer ends.
    func testResumedGenerationEqualsTheUninterruptedOne() throws {
        let model = try SharedModel.get()
        defer { model.generationJournal = nil }
        let request = GenerationRequest(context: "Question: count from 1 to 30.\nAnswer: 1, 2, 3,", until: [], maxTokens: 40)
        let journal = MemoryJournal(recordInterval: 7)
        model.generationJournal = journal
        let whole = try model.generate([request], policy: .full, batchSize: 4)[0]
        XCTAssertEqual(whole.stopReason, .maxTokens)
        XCTAssertEqual(journal.recorded, [7, 14, 21, 28, 35])
        XCTAssertEqual(journal.finishedCount, 1)
        XCTAssertTrue(journal.sequences.isEmpty, "a finished answer leaves nothing in the journal")

        let prompt = model.encode(request.context)
        let tokens = try answerTokens(model: model, request: request)
        XCTAssertEqual(tokens.count, 39, "recorded after each token but the last")
        for k in [1, 7, 20, 39] {
            let resumed = MemoryJournal(recordInterval: 1_000)
            resumed.sequences[prompt] = Array(tokens.prefix(k))
            model.generationJournal = resumed
            let again = try model.generate([request], policy: .full, batchSize: 1)[0]
            XCTAssertEqual(again, whole, "resumed from \(k) tokens")
            XCTAssertTrue(resumed.sequences.isEmpty)
        }
        // Tokens that cannot be this answer's (the first is not the prompt's greedy token) are
        // dropped: the answer starts from its prompt.
        let wrong = MemoryJournal(recordInterval: 1_000)
        wrong.sequences[prompt] = [tokens[0] == 5 ? 6 : 5] + tokens.dropFirst(1).prefix(9)
        model.generationJournal = wrong
        XCTAssertEqual(try model.generate([request], policy: .full, batchSize: 1)[0], whole)
    }

    /// The greedy tokens of `request`'s answer, all but the last (a journal that records after
    /// every token sees the answer up to its last unfinished step).
    private func answerTokens(model: TransformerModel, request: GenerationRequest) throws -> [Int32] {
        final class LastRecord: GenerationJournal {
            var last: [Int32] = []
            var recordInterval: Int { 1 }
            func generatedSoFar(prompt: [Int32]) -> [Int32]? { nil }
            func record(prompt: [Int32], generated: [Int32]) { last = generated }
            func finished(prompt: [Int32]) {}
        }
        let journal = LastRecord()
        model.generationJournal = journal
        defer { model.generationJournal = nil }
        _ = try model.generate([request], policy: .full, batchSize: 1)
        return journal.last
    }
}
