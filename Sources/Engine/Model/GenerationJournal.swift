/// Where greedy generation keeps the tokens a sequence has generated so far, so that a run
/// interrupted in the middle of a long answer (Qwen2.5's AIME24 answers run toward 32,768 tokens,
/// more than an hour each here) resumes that document where it stopped instead of from its prompt.
///
/// Exactness: a resumed sequence must continue with the tokens an uninterrupted one writes. Its
/// prompt is prefilled as before (the same call shapes), and the tokens it had generated are fed
/// back as the decode steps that produced them computed them: every row its own one-row segment,
/// so the quantised kernels and the per-row attention kernel (whose rows depend on no other row of
/// the call), never the prefill's sgemm (see `TransformerModel.replayDecodeSteps`).
public protocol GenerationJournal: AnyObject {
    /// Tokens generated earlier for the prompt `prompt` (the ids the model prefills), if any.
    func generatedSoFar(prompt: [Int32]) -> [Int32]?
    /// The tokens generated so far for `prompt` (called every `recordInterval` tokens).
    func record(prompt: [Int32], generated: [Int32])
    /// `prompt`'s generation has finished; what was recorded for it is no longer needed.
    func finished(prompt: [Int32])
    /// Tokens between two `record` calls of one sequence.
    var recordInterval: Int { get }
}

/// A model whose greedy generation can keep a `GenerationJournal`.
public protocol GenerationJournaling: AnyObject {
    var generationJournal: (any GenerationJournal)? { get set }
}

extension TransformerModel: GenerationJournaling {}

extension TransformerModel {
    /// Feeds `tokens`, generated earlier by greedy decoding of this sequence (its first token at
    /// the sequence's end), back through the sequence's path exactly as the decode steps that
    /// generated them did, and returns the greedy token after the last of them.
    ///
    /// Each row is its own one-row segment (`applyBlock`'s segments; attention row by row), so it
    /// takes the kernels a one-sequence decode step takes, and reads the keys and values the rows
    /// before it stored: the same numbers as the step that generated it.
    func replayDecodeSteps(_ tokens: [Int32], sequence: SequenceState) -> Int32 {
        replayDecodeSteps(tokens, sequence: sequence, rowsPerCall: 256)
    }

    /// `replayDecodeSteps` feeding back at most `rowsPerCall` rows per block application (the
    /// result does not depend on it; tests use small ones).
    func replayDecodeSteps(_ tokens: [Int32], sequence: SequenceState, rowsPerCall: Int) -> Int32 {
        precondition(!tokens.isEmpty)
        let d = configuration.width, vocab = configuration.vocabularySize
        let blocks = sequence.path!.blocks
        var start = 0
        var next: Int32 = 0
        while start < tokens.count {
            let n = min(max(1, rowsPerCall), tokens.count - start)
            let x = workspace.buffer(.hidden, n * d)
            embed(tokens[start..<(start + n)], into: x)
            let rows = (0..<n).map { Row(sequence: sequence, position: sequence.length + $0) }
            let segments = (0..<n).map { $0..<($0 + 1) }
            for (slot, block) in blocks.enumerated() {
                applyBlock(block, slots: Array(repeating: slot, count: n), x: x, rows: rows, segments: segments)
            }
            sequence.length += n
            start += n
            if start == tokens.count {
                let out = workspace.buffer(.logits, vocab)
                decodeLogits(x + (n - 1) * d, rows: 1, into: out)
                next = Self.argmax(out, vocab)
            }
        }
        return next
    }
}
