@testable import Engine
import XCTest

/// Greedy generation steps up to `decodeBatchLimit` sequences together, more than the row count
/// up to which a prompt's rows take the quantised kernels. Each decode row is its own sequence's
/// one-row step, so it must take the kernels that step takes alone — bitwise, at every batch size.
final class BatchedDecodeTests: XCTestCase {
    func testDecodeRowsIndependentOfBatchBeyondQuantizedRowLimit() throws {
        let model = try SharedModel.get()
        let count = model.quantizedRowLimit + 4
        XCTAssertLessThanOrEqual(count, model.decodeBatchLimit, "generation must be able to step this many together")
        let prompts = (0..<count).map { model.encode("Item \($0): the list goes \($0), \($0 + 1),") }
        let (path, decider) = try model.resolve(.full)
        let d = model.configuration.width, vocab = model.configuration.vocabularySize
        let steps = 3

        /// Each member's logits after each of `steps` greedy decode steps, all members stepped together.
        func decodeLogits(of members: [Int]) -> [[[Float]]] {
            let sequences = members.map { model.makeSequence(capacity: prompts[$0].count + steps + 1, path: path) }
            var next: [Int32] = []
            for (s, i) in zip(sequences, members) {
                let x = model.workspace.buffer(.hidden, prompts[i].count * d)
                model.forward(prompts[i][...], sequence: s, decider: decider, x: x)
                let out = model.workspace.buffer(.logits, vocab)
                model.logits(x + (prompts[i].count - 1) * d, rows: 1, into: out)
                next.append(TransformerModel.argmax(out, vocab))
            }
            var result = [[[Float]]](repeating: [], count: members.count)
            for _ in 0..<steps {
                let x = model.workspace.buffer(.hidden, members.count * d)
                model.decodeStep(next, sequences: sequences, x: x)
                let out = model.workspace.buffer(.logits, members.count * vocab)
                model.decodeLogits(x, rows: members.count, into: out)
                for j in members.indices {
                    result[j].append(Array(UnsafeBufferPointer(start: out + j * vocab, count: vocab)))
                    next[j] = TransformerModel.argmax(out + j * vocab, vocab)
                }
            }
            return result
        }

        let together = decodeLogits(of: Array(0..<count))
        for i in [0, model.quantizedRowLimit, count - 1] {
            let alone = decodeLogits(of: [i])[0]
            for step in 0..<steps {
                let differing = zip(alone[step], together[i][step]).filter { $0.bitPattern != $1.bitPattern }.count
                XCTAssertEqual(differing, 0, "sequence \(i), step \(step): logits alone vs \(count) together")
            }
        }
    }
}
