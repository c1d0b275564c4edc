import Foundation

/// Why the engine refused a request.
public enum EngineError: LocalizedError, Equatable {
    case emptyContinuation(context: String, continuation: String)
    case emptyPrompt
    case contextsDiffer
    case tooLong(tokens: Int, limit: Int)
    case invalidPath(LayerPathError)
    case tokenOutOfRange(Int32, vocabulary: Int)

    public var errorDescription: String? {
        switch self {
        case let .emptyContinuation(context, continuation):
            return "continuation \(continuation.debugDescription) adds no tokens after context \(String(context.suffix(40)).debugDescription) (a token spans the boundary)"
        case .emptyPrompt: return "the prompt is empty: nothing to condition on"
        case .contextsDiffer: return "the requests of one path-search session must share their context"
        case let .tooLong(tokens, limit): return "the input needs \(tokens) tokens but the model's context holds \(limit)"
        case let .invalidPath(e): return "invalid layer path: \(e.description)"
        case let .tokenOutOfRange(t, vocabulary): return "token id \(t) is outside the vocabulary (0..<\(vocabulary))"
        }
    }
}

/// Encodings of a loglikelihood request under lm-eval's boundary rule.
public struct EncodedPair: Equatable, Sendable {
    public var context: [Int32]
    public var continuation: [Int32]
}

extension TransformerModel: RoutableLanguageModel {
    /// lm-eval's request rules over this model's tokenizer and context window.
    public var requestRules: LMEvalRequestRules {
        LMEvalRequestRules(tokenizer: tokenizer, contextLength: configuration.contextLength)
    }

    /// Tokenises text as lm-eval does (`LMEvalRequestRules.encode`).
    public func encode(_ text: String) -> [Int32] { requestRules.encode(text) }

    /// lm-eval's `_encode_pair` (`LMEvalRequestRules.encodePair`).
    public func encodePair(context: String, continuation: String) -> EncodedPair {
        requestRules.encodePair(context: context, continuation: continuation)
    }

    /// Resolves a policy to a fixed path or a decider.
    func resolve(_ policy: LayerPolicy) throws -> (path: LayerPath?, decider: (any PathDecider)?) {
        switch policy {
        case .full: return (LayerPath.full(layerCount), nil)
        case let .fixed(p):
            do { try p.validate(layerCount: layerCount) } catch { throw EngineError.invalidPath(error) }
            return (p, nil)
        case let .decided(d): return (nil, d)
        }
    }

    public func loglikelihood(_ requests: [LoglikelihoodRequest], policy: LayerPolicy) throws -> [LoglikelihoodResult] {
        try evaluate(loglikelihood: requests, generation: [], policy: policy).scored
    }

    public func generate(_ requests: [GenerationRequest], policy: LayerPolicy) throws -> [GenerationResult] {
        try evaluate(loglikelihood: [], generation: requests, policy: policy).generated
    }

    /// Requests sharing a context share one prefill: scoring requests among themselves, and a
    /// generation request with the scoring requests of its context (SQuAD v2's answer and its
    /// " unanswerable" score). The shared prefill is the same computation either way, so every
    /// number equals that of separate calls.
    public func evaluate(loglikelihood scoring: [LoglikelihoodRequest], generation generating: [GenerationRequest],
                         policy: LayerPolicy) throws -> (scored: [LoglikelihoodResult], generated: [GenerationResult]) {
        let (fixedPath, decider) = try resolve(policy)
        if let decider, decider.routingInput == .sequence, !scoring.isEmpty {
            // Each request is routed on its own whole sequence, so nothing is shared.
            let scored = try scoring.map { try scoreRoutedOnWholeSequence($0, decider: decider) }
            let generated = generating.isEmpty ? [] : try generate(generating, policy: policy)
            return (scored, generated)
        }
        var scored = [LoglikelihoodResult?](repeating: nil, count: scoring.count)
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for (i, r) in scoring.enumerated() {
            if groups[r.context] == nil { order.append(r.context) }
            groups[r.context, default: []].append(i)
        }
        var encoded: [String: [EncodedPair]] = [:]
        for context in order {
            let members = groups[context]!
            let pairs = members.map { encodePair(context: scoring[$0].context, continuation: scoring[$0].continuation) }
            for (j, p) in pairs.enumerated() where p.continuation.isEmpty {
                throw EngineError.emptyContinuation(context: context, continuation: scoring[members[j]].continuation)
            }
            encoded[context] = pairs
        }
        // Each generation request takes the scoring group of its context, if any.
        var unclaimed = encoded
        var attached: [Int: [Int]] = [:]
        var sharedScoring: [Int: [EncodedPair]] = [:]
        for (g, r) in generating.enumerated() {
            guard let pairs = unclaimed.removeValue(forKey: r.context) else { continue }
            attached[g] = groups[r.context]!
            sharedScoring[g] = pairs
        }
        let generated = try generate(generating, path: fixedPath, decider: decider, batchSize: decodeBatchLimit,
                                     scoring: sharedScoring) { g, results in
            for (j, r) in results.enumerated() { scored[attached[g]![j]] = r }
        }
        // Groups no generation took (or whose prompt was truncated) are scored on their own.
        for context in order where groups[context]!.contains(where: { scored[$0] == nil }) {
            let members = groups[context]!
            let pairs = encoded[context]!
            let results = try score(context: pairs[0].context, continuations: pairs.map(\.continuation),
                                    path: fixedPath, decider: decider)
            for (j, r) in results.enumerated() { scored[members[j]] = r }
        }
        return (scored.map { $0! }, generated)
    }

    /// `RoutingInput.sequence`: one prefill of the context and continuation tokens together, in
    /// which the decider reads them all, and the continuation's log-probabilities read from that
    /// prefill — the computation a server's `echo` makes for the same tokens (the output head over
    /// the same row chunks, `promptScoringRowsPerChunk`), so the numbers equal what lm-eval gets
    /// from `bench serve`.
    func scoreRoutedOnWholeSequence(_ request: LoglikelihoodRequest, decider: any PathDecider) throws -> LoglikelihoodResult {
        let pair = encodePair(context: request.context, continuation: request.continuation)
        guard !pair.context.isEmpty else { throw EngineError.emptyPrompt }
        guard !pair.continuation.isEmpty else {
            throw EngineError.emptyContinuation(context: request.context, continuation: request.continuation)
        }
        let ids = pair.context + pair.continuation
        guard ids.count <= configuration.contextLength else {
            throw EngineError.tooLong(tokens: ids.count, limit: configuration.contextLength)
        }
        try checkTokens(ids)
        let d = configuration.width, vocab = configuration.vocabularySize
        let seq = makeSequence(capacity: ids.count, path: nil)
        let x = workspace.buffer(.hidden, ids.count * d)
        let path = forward(ids[...], sequence: seq, decider: decider, x: x)
        // Position p's logits score token p + 1: the continuation needs rows context − 1 ..< n − 1,
        // computed in the server's chunks of rows from position 0 (only the chunks that hold them).
        let first = pair.context.count - 1, chunk = Self.promptScoringRowsPerChunk
        let chunkStart = first / chunk * chunk
        let rows = ids.count - chunkStart
        let out = workspace.buffer(.logits, rows * vocab)
        var row = 0
        while row < rows {
            let n = min(chunk, rows - row)
            logits(x + (chunkStart + row) * d, rows: n, into: out + row * vocab)
            row += n
        }
        let start = out + (first - chunkStart) * vocab
        let (total, greedy) = Self.continuationScore(pair.continuation, first: start,
                                                     later: pair.continuation.count > 1 ? start + vocab : nil, vocab: vocab)
        return LoglikelihoodResult(logLikelihood: total, isGreedy: greedy, continuationTokens: pair.continuation.count,
                                   contextTokens: pair.context.count, path: path, blockApplications: path.count, forwardPasses: 1)
    }

    /// Runs only the prefill of `text` (no logits) and returns the path taken — enough to drive a
    /// `PathDecider` that records the hidden states entering each block (router teacher forcing).
    @discardableResult
    public func prefill(_ text: String, policy: LayerPolicy) throws -> LayerPath {
        let (fixedPath, decider) = try resolve(policy)
        let ids = encode(text)
        guard !ids.isEmpty else { throw EngineError.emptyPrompt }
        guard ids.count <= configuration.contextLength else {
            throw EngineError.tooLong(tokens: ids.count, limit: configuration.contextLength)
        }
        try checkTokens(ids)
        let seq = makeSequence(capacity: ids.count, path: fixedPath)
        let x = workspace.buffer(.hidden, ids.count * configuration.width)
        return forward(ids[...], sequence: seq, decider: decider, x: x)
    }

    /// Scores token-level continuations of one tokenised context (one prefill shared by all).
    public func loglikelihood(contextIds: [Int32], continuations: [[Int32]], policy: LayerPolicy) throws -> [LoglikelihoodResult] {
        let (fixedPath, decider) = try resolve(policy)
        return try score(context: contextIds, continuations: continuations, path: fixedPath, decider: decider)
    }

    func score(context ctxIds: [Int32], continuations: [[Int32]], path fixedPath: LayerPath?,
               decider: (any PathDecider)?) throws -> [LoglikelihoodResult] {
        let d = configuration.width, vocab = configuration.vocabularySize
        guard !ctxIds.isEmpty else { throw EngineError.emptyPrompt }
        guard let longest = continuations.map(\.count).max(), continuations.allSatisfy({ !$0.isEmpty }) else {
            throw EngineError.emptyContinuation(context: tokenizer.decode(ctxIds), continuation: "")
        }
        let capacity = ctxIds.count + longest
        guard capacity <= configuration.contextLength else {
            throw EngineError.tooLong(tokens: capacity, limit: configuration.contextLength)
        }
        try checkTokens(ctxIds)
        for c in continuations { try checkTokens(c) }
        let seq = makeSequence(capacity: capacity, path: fixedPath)
        let x = workspace.buffer(.hidden, max(ctxIds.count, longest) * d)
        let path = prefillPrompt(ctxIds, sequence: seq, decider: decider, x: x)
        // Distribution for the first continuation token: the context's last position.
        let firstLogits = [Float](unsafeUninitializedCapacity: vocab) { buf, n in
            logits(x + (ctxIds.count - 1) * d, rows: 1, into: buf.baseAddress!)
            n = vocab
        }
        return scoreContinuations(continuations, firstLogits: firstLogits, sequence: seq, contextCount: ctxIds.count, path: path)
    }

    /// Scores continuations of a prefilled context: `firstLogits` are the logits at its last
    /// position; each continuation extends the sequence's cache from the context's end (the
    /// sequence needs room for the longest). Leaves `sequence.length` at the context's end.
    func scoreContinuations(_ continuations: [[Int32]], firstLogits: [Float], sequence seq: SequenceState,
                            contextCount: Int, path: LayerPath) -> [LoglikelihoodResult] {
        let d = configuration.width, vocab = configuration.vocabularySize
        let x = workspace.buffer(.hidden, (continuations.map(\.count).max() ?? 1) * d)
        var results: [LoglikelihoodResult] = []
        for cont in continuations {
            var later: UnsafeMutablePointer<Float>?
            if cont.count > 1 {
                // Each continuation extends the shared context cache from its end.
                seq.length = contextCount
                let inputs = cont[0..<(cont.count - 1)]
                forward(inputs, sequence: seq, decider: nil, x: x)
                later = workspace.buffer(.logits, inputs.count * vocab)
                logits(x, rows: inputs.count, into: later!)
            }
            let (total, greedy) = firstLogits.withUnsafeBufferPointer {
                Self.continuationScore(cont, first: $0.baseAddress!, later: later, vocab: vocab)
            }
            results.append(LoglikelihoodResult(
                logLikelihood: total, isGreedy: greedy, continuationTokens: cont.count,
                contextTokens: contextCount, path: path, blockApplications: path.count, forwardPasses: 1))
        }
        seq.length = contextCount
        return results
    }

    /// A continuation's log-likelihood and whether it is greedy: its first token under `first`, then
    /// token t (t ≥ 1) under row t − 1 of `later` (`(count − 1) × vocab`), summed in that order.
    static func continuationScore(_ tokens: [Int32], first: UnsafePointer<Float>, later: UnsafePointer<Float>?,
                                  vocab: Int) -> (Double, Bool) {
        var (total, greedy) = scoreToken(first, vocab: vocab, target: tokens[0])
        if let later {
            for t in 1..<tokens.count {
                let (lp, g) = scoreToken(later + (t - 1) * vocab, vocab: vocab, target: tokens[t])
                total += lp
                greedy = greedy && g
            }
        }
        return (total, greedy)
    }

    /// Log-probability of `target` under `logits` (log-sum-exp in f64) and whether it is the argmax
    /// (ties: the first maximum, as `torch.argmax`/`numpy.argmax` pick).
    static func scoreToken(_ logits: UnsafePointer<Float>, vocab: Int, target: Int32) -> (Double, Bool) {
        var best = 0
        var m = logits[0]
        for i in 1..<vocab where logits[i] > m { m = logits[i]; best = i }
        var s = 0.0
        let md = Double(m)
        for i in 0..<vocab { s += exp(Double(logits[i]) - md) }
        let lp = Double(logits[Int(target)]) - md - log(s)
        return (lp, best == Int(target))
    }

    func checkTokens(_ ids: [Int32]) throws {
        for t in ids where t < 0 || Int(t) >= configuration.vocabularySize {
            throw EngineError.tokenOutOfRange(t, vocabulary: configuration.vocabularySize)
        }
    }

    /// Greedy generation, stepping up to `batchSize` sequences together.
    public func generate(_ requests: [GenerationRequest], policy: LayerPolicy, batchSize: Int) throws -> [GenerationResult] {
        let (fixedPath, decider) = try resolve(policy)
        return try generate(requests, path: fixedPath, decider: decider, batchSize: batchSize, scoring: [:]) { _, _ in }
    }

    /// Greedy generation. `scoring[i]` are scoring pairs on request i's context: where their
    /// context ids are the prompt's, they are scored from its prefill and handed to `scored`
    /// (request index, results in pair order); otherwise nothing is handed over for them.
    func generate(_ requests: [GenerationRequest], path fixedPath: LayerPath?, decider: (any PathDecider)?, batchSize: Int,
                  scoring: [Int: [EncodedPair]], scored: (Int, [LoglikelihoodResult]) -> Void) throws -> [GenerationResult] {
        let d = configuration.width, vocab = configuration.vocabularySize
        var results = [GenerationResult?](repeating: nil, count: requests.count)
        // Continuous batching: a request is prefilled as soon as a running sequence finishes, so
        // the batch never waits for its slowest member (each sequence's numbers are the same in
        // any batch: see `decodeStep`).
        var pending = requests.indices.makeIterator()
        func prefillNext() throws -> ActiveSequence? {
            guard let i = pending.next() else { return nil }
            var r = requests[i]
            guard !r.context.isEmpty else { throw EngineError.emptyPrompt }
            let encoded = encode(r.context)
            try checkTokens(encoded)
            let (ids, maxNew) = try fitToContext(encoded, maxTokens: r.maxTokens)
            r.maxTokens = maxNew
            // Shared only where the scoring context is exactly this prompt and fits with its
            // continuations; anything else is scored on its own (and refused there if too long).
            let pairs = scoring[i].flatMap { p in
                p.allSatisfy { $0.context == ids }
                    && ids.count + (p.map(\.continuation.count).max() ?? 0) <= configuration.contextLength ? p : nil
            }
            let longest = pairs?.map(\.continuation.count).max() ?? 0
            if let pairs { for p in pairs { try checkTokens(p.continuation) } }
            let seq = makeSequence(capacity: ids.count + max(maxNew, longest), path: fixedPath)
            let x = workspace.buffer(.hidden, ids.count * d)
            let path = prefillPrompt(ids, sequence: seq, decider: decider, x: x)
            let out = workspace.buffer(.logits, vocab)
            logits(x + (ids.count - 1) * d, rows: 1, into: out)
            let next = Self.argmax(out, vocab)
            if let pairs {
                let first = Array(UnsafeBufferPointer(start: out, count: vocab))
                scored(i, scoreContinuations(pairs.map(\.continuation), firstLogits: first, sequence: seq,
                                             contextCount: ids.count, path: path))
            }
            let active = ActiveSequence(index: i, request: r, sequence: seq, promptTokens: ids.count, next: next)
            if let journal = generationJournal {
                active.journalPrompt = ids
                resume(active, from: journal)
            }
            return active
        }
        let capacity = min(max(1, batchSize), decodeBatchLimit)
        for (index, result) in try decodeGreedily([], capacity: capacity, admit: prefillNext) { results[index] = result }
        return results.map { $0! }
    }

    /// Continues a freshly prefilled sequence from the tokens `journal` holds for its prompt, if
    /// any: they are replayed as the decode steps that generated them (`replayDecodeSteps`), so the
    /// sequence goes on exactly as it would have. Tokens that cannot be this sequence's (the first
    /// is not the prefill's greedy token, an end-of-generation token, more than its budget) are
    /// dropped and the sequence starts from its prompt.
    func resume(_ active: ActiveSequence, from journal: any GenerationJournal) {
        guard let prompt = active.journalPrompt, let earlier = journal.generatedSoFar(prompt: prompt), !earlier.isEmpty else { return }
        let eog = tokenizer.endOfGenerationTokens
        guard earlier[0] == active.next, earlier.count < active.request.maxTokens,
              !earlier.contains(where: { eog.contains($0) || $0 < 0 || Int($0) >= configuration.vocabularySize }) else {
            journal.finished(prompt: prompt)
            return
        }
        let next = replayDecodeSteps(earlier, sequence: active.sequence)
        for token in earlier where !tokenizer.isControl(token) { active.bytes += tokenizer.bytes(of: token) }
        active.generated = earlier
        active.next = next
    }

    /// lm-eval's truncation and budget clamp (`LMEvalRequestRules.fitToContext`).
    func fitToContext(_ ids: [Int32], maxTokens: Int) throws -> (ids: [Int32], maxTokens: Int) {
        try requestRules.fitToContext(ids, maxTokens: maxTokens)
    }

    /// Greedy decoding of prefilled sequences until each stops; all step together. While fewer
    /// than `capacity` run, `admit` is asked for another prefilled sequence (nil: none left).
    /// Returns (request index, result) pairs in the order sequences finish.
    func decodeGreedily(_ start: [ActiveSequence], capacity: Int = .max,
                        admit: () throws -> ActiveSequence? = { nil }) rethrows -> [(Int, GenerationResult)] {
        let eog = tokenizer.endOfGenerationTokens
        let d = configuration.width, vocab = configuration.vocabularySize
        var finished: [(Int, GenerationResult)] = []
        var active = start
        // Fill the batch; accept the pending token of each sequence; finish those that stop; step the rest.
        while true {
            while active.count < capacity, let a = try admit() { active.append(a) }
            if active.isEmpty { break }
            var running: [ActiveSequence] = []
            for a in active {
                let token = a.next
                a.generated.append(token)
                var stop: StopReason?
                if eog.contains(token) {
                    stop = .endOfSequence
                } else {
                    if !tokenizer.isControl(token) { a.bytes += tokenizer.bytes(of: token) }
                    let text = String(decoding: a.bytes, as: UTF8.self)
                    if a.request.until.contains(where: { !$0.isEmpty && text.contains($0) }) {
                        stop = .stopString
                    } else if a.generated.count >= a.request.maxTokens {
                        stop = .maxTokens
                    }
                }
                guard let stop else {
                    if let journal = generationJournal, let prompt = a.journalPrompt,
                       a.generated.count % max(1, journal.recordInterval) == 0 {
                        journal.record(prompt: prompt, generated: a.generated)
                    }
                    running.append(a)
                    continue
                }
                if let prompt = a.journalPrompt { generationJournal?.finished(prompt: prompt) }
                let path = a.sequence.path!
                // One forward pass per generated token: the prefill yields the first.
                let passes = a.generated.count
                finished.append((a.index, GenerationResult(
                    text: LMEvalRequestRules.cut(String(decoding: a.bytes, as: UTF8.self), at: a.request.until),
                    stopReason: stop, promptTokens: a.promptTokens, generatedTokens: a.generated.count,
                    path: path, blockApplications: passes * path.count, forwardPasses: passes)))
            }
            generatedTokens.add(active.count)
            active = running
            guard !active.isEmpty else { continue }
            // All running sequences step together, whatever their paths (see `decodeStep`).
            let x = workspace.buffer(.hidden, active.count * d)
            decodeStep(active.map(\.next), sequences: active.map(\.sequence), x: x)
            let out = workspace.buffer(.logits, active.count * vocab)
            decodeLogits(x, rows: active.count, into: out)
            for (i, a) in active.enumerated() { a.next = Self.argmax(out + i * vocab, vocab) }
        }
        return finished
    }

    static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int32 {
        var best = 0
        var m = x[0]
        for i in 1..<n where x[i] > m { m = x[i]; best = i }
        return Int32(best)
    }
}

/// A sequence being generated: its request, cache and the token it will accept next.
final class ActiveSequence {
    let index: Int
    let request: GenerationRequest
    let sequence: SequenceState
    let promptTokens: Int
    var generated: [Int32] = []
    var bytes: [UInt8] = []
    var next: Int32
    /// The prompt's ids, when a `GenerationJournal` keeps this sequence's tokens.
    var journalPrompt: [Int32]?

    init(index: Int, request: GenerationRequest, sequence: SequenceState, promptTokens: Int, next: Int32) {
        self.index = index
        self.request = request
        self.sequence = sequence
        self.promptTokens = promptTokens
        self.next = next
    }
}
