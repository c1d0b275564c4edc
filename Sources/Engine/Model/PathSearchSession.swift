/// One prompt evaluated under many layer paths — what MCTS path search needs — reusing the
/// prompt's hidden states and KV caches across paths that share a prefix: greedy generation (a
/// generative reward) or the log-likelihoods of continuations of one context (a multiple-choice
/// reward).
///
/// The hidden states after path positions `0..<k`, and the keys/values those positions wrote,
/// depend only on the first `k` entries of the path. The session keeps a checkpoint for every
/// prefix it computes (up to a memory budget), so evaluating a path only runs the blocks after
/// its longest already-computed prefix. Results are bitwise identical to `generate` (or
/// `loglikelihood`) with `.fixed(path)`: the same kernels run on the same inputs.
///
/// The static `generate(_:)` and `score(_:)` evaluate one path of each of several sessions (several
/// examples searched together) in one batch: their prompts go through each block's weights in one
/// matrix product where that computes every row as its own prefill would
/// (`TransformerModel.applyBlock(_:slots:x:rows:segments:)`), and their generations decode
/// together on the batch-invariant decode kernels, so every result is the one the session would
/// give alone.
public final class PathSearchSession {
    public let model: TransformerModel
    /// The prompt's token ids (after lm-eval's left truncation, for generation).
    public let promptIds: [Int32]

    /// What a path is asked for.
    enum Work {
        case generation(GenerationRequest)
        case scoring(continuations: [[Int32]])
    }
    let work: Work

    /// Prompt block applications actually computed, and those reused from checkpoints.
    public private(set) var blockApplicationsComputed = 0
    public private(set) var blockApplicationsReused = 0

    private struct Checkpoint {
        /// Hidden states after the prefix, `T × d`.
        var hidden: [Float]
        /// Keys and values the prefix's last position wrote for the prompt, `T × kvWidth` each.
        var keys: [Float]
        var values: [Float]
    }
    private var checkpoints: [[Int]: Checkpoint] = [:]
    private var bytesUsed = 0
    private let byteBudget: Int

    /// A session for greedy generation; `memoryBudget` bounds the checkpoints kept (bytes).
    public init(model: TransformerModel, request: GenerationRequest, memoryBudget: Int = 512 << 20) throws {
        guard !request.context.isEmpty else { throw EngineError.emptyPrompt }
        let encoded = model.encode(request.context)
        try model.checkTokens(encoded)
        let (ids, maxNew) = try model.fitToContext(encoded, maxTokens: request.maxTokens)
        var request = request
        request.maxTokens = maxNew
        self.model = model
        self.work = .generation(request)
        self.promptIds = ids
        self.byteBudget = memoryBudget
    }

    /// A session scoring `requests`, which must share one context (a multiple-choice question's
    /// choices), as `loglikelihood` scores them: lm-eval's encoding of each pair, one prefill of
    /// the context, each continuation from its end.
    public init(model: TransformerModel, scoring requests: [LoglikelihoodRequest], memoryBudget: Int = 512 << 20) throws {
        guard let context = requests.first?.context else { throw EngineError.emptyPrompt }
        guard requests.allSatisfy({ $0.context == context }) else { throw EngineError.contextsDiffer }
        let pairs = requests.map { model.encodePair(context: $0.context, continuation: $0.continuation) }
        for (p, r) in zip(pairs, requests) where p.continuation.isEmpty {
            throw EngineError.emptyContinuation(context: context, continuation: r.continuation)
        }
        let ids = pairs[0].context
        guard !ids.isEmpty else { throw EngineError.emptyPrompt }
        let capacity = ids.count + pairs.map(\.continuation.count).max()!
        guard capacity <= model.configuration.contextLength else {
            throw EngineError.tooLong(tokens: capacity, limit: model.configuration.contextLength)
        }
        try model.checkTokens(ids)
        for p in pairs { try model.checkTokens(p.continuation) }
        self.model = model
        self.work = .scoring(continuations: pairs.map(\.continuation))
        self.promptIds = ids
        self.byteBudget = memoryBudget
    }

    /// Greedy generation along `path` (validated against the model).
    public func generate(path: LayerPath) throws -> GenerationResult {
        try Self.generate([(self, path)])[0]
    }

    /// The continuations' log-likelihoods along `path`, in request order.
    public func score(path: LayerPath) throws -> [LoglikelihoodResult] {
        try Self.score([(self, path)])[0]
    }

    /// Greedy generation of each session along its path, evaluated together (see the type's
    /// description). Sessions must be generation sessions of one model, each at most once.
    public static func generate(_ items: [(session: PathSearchSession, path: LayerPath)]) throws -> [GenerationResult] {
        guard let model = items.first?.session.model else { return [] }
        let candidates = try prefill(items)
        let d = model.configuration.width, vocab = model.configuration.vocabularySize
        let out = model.workspace.buffer(.logits, vocab)
        var pending: [ActiveSequence] = []
        for (i, c) in candidates.enumerated() {
            guard case let .generation(request) = c.session.work else { preconditionFailure("not a generation session") }
            model.logits(c.hidden + (c.length - 1) * d, rows: 1, into: out)
            pending.append(ActiveSequence(index: i, request: request, sequence: c.sequence, promptTokens: c.length,
                                          next: TransformerModel.argmax(out, vocab)))
        }
        defer { for c in candidates { c.hidden.deallocate() } }
        pending.reverse()
        var results = [GenerationResult?](repeating: nil, count: items.count)
        for (i, r) in model.decodeGreedily([], capacity: model.quantizedRowLimit, admit: { pending.popLast() }) {
            results[i] = r
        }
        return results.map { $0! }
    }

    /// Each scoring session's continuations along its path, evaluated together (see the type's
    /// description). Sessions must be scoring sessions of one model, each at most once.
    ///
    /// `TransformerModel.scoreContinuations` scores one candidate's continuations one after the
    /// other on the context's cache; here every continuation of every candidate gets its own
    /// sequence holding a copy of its context's keys and values, and all run through the blocks
    /// together (`TransformerModel.forward(_:)`), each row computed as that call would compute it.
    public static func score(_ items: [(session: PathSearchSession, path: LayerPath)]) throws -> [[LoglikelihoodResult]] {
        guard let model = items.first?.session.model else { return [] }
        let candidates = try prefill(items)
        defer { for c in candidates { c.hidden.deallocate() } }
        let d = model.configuration.width, vocab = model.configuration.vocabularySize, kv = model.configuration.kvWidth
        // The distribution of each first continuation token: each context's last position.
        let lastRows = UnsafeMutablePointer<Float>.allocate(capacity: candidates.count * d)
        defer { lastRows.deallocate() }
        for (i, c) in candidates.enumerated() { (lastRows + i * d).update(from: c.hidden + (c.length - 1) * d, count: d) }
        let firstLogits = UnsafeMutablePointer<Float>.allocate(capacity: candidates.count * vocab)
        defer { firstLogits.deallocate() }
        model.logits(lastRows, segments: candidates.indices.map { $0..<($0 + 1) }, into: firstLogits)

        // Continuations past their first token, as (candidate, continuation) runs: short ones
        // first, so that they sit side by side in every block's call.
        struct Scored { let candidate: Int; let continuation: Int; let tokens: [Int32] }
        var multi: [Scored] = []
        for (i, c) in candidates.enumerated() {
            guard case let .scoring(continuations) = c.session.work else { preconditionFailure("not a scoring session") }
            for (j, cont) in continuations.enumerated() where cont.count > 1 { multi.append(Scored(candidate: i, continuation: j, tokens: cont)) }
        }
        multi = multi.filter { $0.tokens.count - 1 <= model.quantizedRowLimit } + multi.filter { $0.tokens.count - 1 > model.quantizedRowLimit }
        let totalRows = multi.reduce(0) { $0 + $1.tokens.count - 1 }
        let hidden = UnsafeMutablePointer<Float>.allocate(capacity: max(1, totalRows) * d)
        defer { hidden.deallocate() }
        var runs: [TransformerModel.PathRun] = [], segments: [Range<Int>] = []
        var offset = 0
        for m in multi {
            let c = candidates[m.candidate]
            let inputs = m.tokens[0..<(m.tokens.count - 1)]
            let seq = model.makeSequence(capacity: c.length + inputs.count, path: c.path)
            for slot in 0..<c.path.count {
                seq.cache.slot(slot).storePrefix(keys: c.sequence.cache.slot(slot).keys, values: c.sequence.cache.slot(slot).values,
                                                 count: c.length, kvWidth: kv)
            }
            seq.length = c.length
            model.embed(inputs, into: hidden + offset * d)
            runs.append(TransformerModel.PathRun(sequence: seq, blocks: c.path.blocks, nextSlot: 0, firstPosition: c.length,
                                                 rows: inputs.count, hidden: hidden + offset * d))
            segments.append(offset..<(offset + inputs.count))
            offset += inputs.count
        }
        model.forward(runs) { _, _ in }
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: max(1, totalRows) * vocab)
        defer { logits.deallocate() }
        if totalRows > 0 { model.logits(hidden, segments: segments, into: logits) }

        var results: [[LoglikelihoodResult?]] = candidates.map { c in
            guard case let .scoring(continuations) = c.session.work else { return [] }
            return Array(repeating: nil, count: continuations.count)
        }
        var rowsOf: [Int: [Int: Range<Int>]] = [:]
        for (m, s) in zip(multi, segments) { rowsOf[m.candidate, default: [:]][m.continuation] = s }
        for (i, c) in candidates.enumerated() {
            guard case let .scoring(continuations) = c.session.work else { continue }
            for (j, cont) in continuations.enumerated() {
                // As `scoreContinuations` sums them: the first token, then each later one in order.
                let (total, greedy) = TransformerModel.continuationScore(
                    cont, first: firstLogits + i * vocab, later: rowsOf[i]?[j].map { logits + $0.lowerBound * vocab }, vocab: vocab)
                results[i][j] = LoglikelihoodResult(
                    logLikelihood: total, isGreedy: greedy, continuationTokens: cont.count,
                    contextTokens: c.length, path: c.path, blockApplications: c.path.count, forwardPasses: 1)
            }
        }
        return results.map { $0.map { $0! } }
    }

    // MARK: Prefill

    /// A path being prefilled: its sequence, hidden states (owned) and next path position.
    private struct Candidate {
        let session: PathSearchSession
        let path: LayerPath
        let sequence: SequenceState
        let hidden: UnsafeMutablePointer<Float>
        var length: Int { session.promptIds.count }
    }

    /// Starts a candidate from its session's longest checkpointed prefix of `path`; returns it
    /// with the first path position still to compute.
    private func start(_ path: LayerPath) throws -> (Candidate, Int) {
        do { try path.validate(layerCount: model.layerCount) } catch { throw EngineError.invalidPath(error) }
        let c = model.configuration
        let t = promptIds.count, d = c.width, kv = c.kvWidth
        let extra: Int
        switch work {
        case let .generation(request): extra = max(1, request.maxTokens)
        case let .scoring(continuations): extra = continuations.map(\.count).max()!
        }
        let seq = model.makeSequence(capacity: t + extra, path: path)
        let x = UnsafeMutablePointer<Float>.allocate(capacity: t * d)
        // Longest prefix whose every shorter prefix is also checkpointed (their K/V are needed).
        var reused = 0
        while reused < path.count, checkpoints[Array(path.blocks[0...reused])] != nil { reused += 1 }
        for slot in 0..<reused {
            let cp = checkpoints[Array(path.blocks[0...slot])]!
            let cache = seq.cache.slot(slot)
            cp.keys.withUnsafeBufferPointer { k in
                cp.values.withUnsafeBufferPointer { v in
                    for p in 0..<t {
                        cache.store(position: p, key: k.baseAddress! + p * kv, value: v.baseAddress! + p * kv, kvWidth: kv)
                    }
                }
            }
        }
        if reused > 0 {
            checkpoints[Array(path.blocks[0..<reused])]!.hidden.withUnsafeBufferPointer {
                x.update(from: $0.baseAddress!, count: t * d)
            }
        } else {
            model.embed(promptIds[...], into: x)
        }
        blockApplicationsReused += reused
        return (Candidate(session: self, path: path, sequence: seq, hidden: x), reused)
    }

    /// Records that path position `slot` of `candidate` was computed, keeping a checkpoint of the
    /// prefix ending there while the budget allows.
    private func computed(_ candidate: Candidate, slot: Int) {
        blockApplicationsComputed += 1
        let c = model.configuration
        let t = promptIds.count, d = c.width, kv = c.kvWidth
        let size = (t * d + 2 * t * kv) * MemoryLayout<Float>.size
        guard bytesUsed + size <= byteBudget else { return }
        let cache = candidate.sequence.cache.slot(slot)
        checkpoints[Array(candidate.path.blocks[0...slot])] = Checkpoint(
            hidden: Array(UnsafeBufferPointer(start: candidate.hidden, count: t * d)),
            keys: Array(UnsafeBufferPointer(start: cache.keys, count: t * kv)),
            values: Array(UnsafeBufferPointer(start: cache.values, count: t * kv)))
        bytesUsed += size
    }

    /// Prefills every item's prompt along its path from its longest checkpoint, all together
    /// (`TransformerModel.forward(_:computed:)`).
    private static func prefill(_ items: [(session: PathSearchSession, path: LayerPath)]) throws -> [Candidate] {
        let model = items[0].session.model
        precondition(items.allSatisfy { $0.session.model === model }, "one model per batch")
        precondition(Set(items.map { ObjectIdentifier($0.session) }).count == items.count, "each session at most once per batch")
        var candidates: [Candidate] = []
        var next: [Int] = []
        do {
            for item in items {
                let (c, first) = try item.session.start(item.path)
                candidates.append(c)
                next.append(first)
            }
        } catch {
            for c in candidates { c.hidden.deallocate() }
            throw error
        }
        let runs = zip(candidates, next).map { c, first in
            TransformerModel.PathRun(sequence: c.sequence, blocks: c.path.blocks, nextSlot: first, firstPosition: 0,
                                     rows: c.length, hidden: c.hidden)
        }
        model.forward(runs) { i, slot in candidates[i].session.computed(candidates[i], slot: slot) }
        return candidates
    }
}
