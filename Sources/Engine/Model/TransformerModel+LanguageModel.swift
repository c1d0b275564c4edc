import Foundation

/// Why the engine refused a request.
public enum EngineError: LocalizedError, Equatable {
    case emptyContinuation(context: String, continuation: String)
    case emptyPrompt
    case tooLong(tokens: Int, limit: Int)
    case invalidPath(LayerPathError)
    case tokenOutOfRange(Int32, vocabulary: Int)

    public var errorDescription: String? {
        switch self {
        case let .emptyContinuation(context, continuation):
            return "continuation \(continuation.debugDescription) adds no tokens after context \(String(context.suffix(40)).debugDescription) (a token spans the boundary)"
        case .emptyPrompt: return "the prompt is empty: nothing to condition on"
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

extension TransformerModel: LanguageModel {
    /// Tokenises text the way lm-eval's HF backend does for causal models: special tokens in the
    /// text are recognised, and no BOS is added.
    public func encode(_ text: String) -> [Int32] {
        tokenizer.encode(text, addSpecial: false, parseSpecial: true)
    }

    /// lm-eval's `_encode_pair`: trailing whitespace of the context moves to the continuation;
    /// the continuation is what `encode(context + continuation)` adds after `encode(context)`.
    public func encodePair(context: String, continuation: String) -> EncodedPair {
        var ctx = context, cont = continuation
        var trailing = ctx.unicodeScalars.count
        let scalars = Array(ctx.unicodeScalars)
        while trailing > 0, scalars[trailing - 1].properties.isWhitespace { trailing -= 1 }
        if trailing < scalars.count {
            let moved = String(String.UnicodeScalarView(scalars[trailing...]))
            ctx = String(String.UnicodeScalarView(scalars[..<trailing]))
            cont = moved + cont
        }
        let whole = encode(ctx + cont)
        var contextIds = encode(ctx)
        let continuationIds = Array(whole.dropFirst(contextIds.count))
        if contextIds.isEmpty {
            // lm-eval conditions an empty context on the prefix token (BOS, else EOS).
            if let t = tokenizer.bosToken ?? tokenizer.eosToken { contextIds = [t] }
        }
        return EncodedPair(context: contextIds, continuation: continuationIds)
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
        let (fixedPath, decider) = try resolve(policy)
        var results = [LoglikelihoodResult?](repeating: nil, count: requests.count)
        // Requests sharing a context share one prefill.
        var groups: [String: [Int]] = [:]
        var order: [String] = []
        for (i, r) in requests.enumerated() {
            if groups[r.context] == nil { order.append(r.context) }
            groups[r.context, default: []].append(i)
        }
        let d = configuration.width, vocab = configuration.vocabularySize
        for context in order {
            let members = groups[context]!
            let pairs = members.map { encodePair(context: requests[$0].context, continuation: requests[$0].continuation) }
            for (j, p) in pairs.enumerated() where p.continuation.isEmpty {
                throw EngineError.emptyContinuation(context: context, continuation: requests[members[j]].continuation)
            }
            let ctxIds = pairs[0].context
            let longest = pairs.map { $0.continuation.count }.max()!
            let capacity = ctxIds.count + longest
            guard capacity <= configuration.contextLength else {
                throw EngineError.tooLong(tokens: capacity, limit: configuration.contextLength)
            }
            try checkTokens(ctxIds)
            let seq = makeSequence(capacity: capacity, path: fixedPath)
            let x = workspace.buffer(10, max(ctxIds.count, longest) * d)
            let path = forward(ctxIds[...], sequence: seq, decider: decider, x: x)
            // Distribution for the first continuation token: the context's last position.
            let firstLogits = [Float](unsafeUninitializedCapacity: vocab) { buf, n in
                logits(x + (ctxIds.count - 1) * d, rows: 1, into: buf.baseAddress!)
                n = vocab
            }
            for (j, pair) in pairs.enumerated() {
                try checkTokens(pair.continuation)
                let cont = pair.continuation
                var total = 0.0
                var greedy = true
                let (lp0, g0) = Self.scoreToken(firstLogits.withUnsafeBufferPointer { $0.baseAddress! }, vocab: vocab, target: cont[0])
                total += lp0
                greedy = greedy && g0
                if cont.count > 1 {
                    seq.length = ctxIds.count
                    let inputs = cont[0..<(cont.count - 1)]
                    forward(inputs, sequence: seq, decider: nil, x: x)
                    let out = workspace.buffer(11, inputs.count * vocab)
                    logits(x, rows: inputs.count, into: out)
                    for t in 1..<cont.count {
                        let (lp, g) = Self.scoreToken(out + (t - 1) * vocab, vocab: vocab, target: cont[t])
                        total += lp
                        greedy = greedy && g
                    }
                }
                results[members[j]] = LoglikelihoodResult(
                    logLikelihood: total, isGreedy: greedy, continuationTokens: cont.count,
                    contextTokens: ctxIds.count, path: path, blockApplications: path.count, forwardPasses: 1)
            }
        }
        return results.map { $0! }
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

    /// Token ids that end generation: EOS and the usual end-of-turn control tokens.
    var endOfGenerationTokens: Set<Int32> {
        var s = Set<Int32>()
        if let e = tokenizer.eosToken { s.insert(e) }
        for name in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|end|>"] {
            let ids = tokenizer.encode(name, addSpecial: false, parseSpecial: true)
            if ids.count == 1, tokenizer.tokenText(ids[0]) == name { s.insert(ids[0]) }
        }
        return s
    }

    public func generate(_ requests: [GenerationRequest], policy: LayerPolicy) throws -> [GenerationResult] {
        try generate(requests, policy: policy, batchSize: quantizedRowLimit)
    }

    /// Greedy generation, stepping up to `batchSize` sequences together (those sharing a path).
    public func generate(_ requests: [GenerationRequest], policy: LayerPolicy, batchSize: Int) throws -> [GenerationResult] {
        let (fixedPath, decider) = try resolve(policy)
        let eog = endOfGenerationTokens
        let d = configuration.width, vocab = configuration.vocabularySize
        var results = [GenerationResult?](repeating: nil, count: requests.count)

        final class Active {
            let index: Int
            let request: GenerationRequest
            let sequence: SequenceState
            let promptTokens: Int
            var generated: [Int32] = []
            var bytes: [UInt8] = []
            var next: Int32
            init(index: Int, request: GenerationRequest, sequence: SequenceState, promptTokens: Int, next: Int32) {
                self.index = index
                self.request = request
                self.sequence = sequence
                self.promptTokens = promptTokens
                self.next = next
            }
        }

        var start = 0
        while start < requests.count {
            let chunk = start..<min(requests.count, start + min(max(1, batchSize), quantizedRowLimit))
            start = chunk.upperBound
            var active: [Active] = []
            for i in chunk {
                let r = requests[i]
                guard !r.context.isEmpty else { throw EngineError.emptyPrompt }
                let maxNew = max(1, r.maxTokens)
                guard maxNew < configuration.contextLength else {
                    throw EngineError.tooLong(tokens: maxNew, limit: configuration.contextLength)
                }
                var ids = encode(r.context)
                try checkTokens(ids)
                // lm-eval left-truncates the prompt to leave room for the generation budget.
                let budget = configuration.contextLength - maxNew
                if ids.count > budget { ids = Array(ids.suffix(budget)) }
                let seq = makeSequence(capacity: ids.count + maxNew, path: fixedPath)
                let x = workspace.buffer(10, ids.count * d)
                forward(ids[...], sequence: seq, decider: decider, x: x)
                let out = workspace.buffer(11, vocab)
                logits(x + (ids.count - 1) * d, rows: 1, into: out)
                active.append(Active(index: i, request: r, sequence: seq, promptTokens: ids.count,
                                     next: Self.argmax(out, vocab)))
            }
            // Accept the pending token of each sequence; finish those that stop; step the rest.
            while !active.isEmpty {
                var running: [Active] = []
                for a in active {
                    let token = a.next
                    var stop: StopReason?
                    if eog.contains(token) {
                        a.generated.append(token)
                        stop = .endOfSequence
                    } else {
                        a.generated.append(token)
                        a.bytes += tokenizer.isControl(token) ? [] : tokenizer.bytes(of: token)
                        let text = String(decoding: a.bytes, as: UTF8.self)
                        if a.request.until.contains(where: { !$0.isEmpty && text.contains($0) }) {
                            stop = .stopString
                        } else if a.generated.count >= a.request.maxTokens {
                            stop = .maxTokens
                        }
                    }
                    if let stop {
                        let path = a.sequence.path!
                        // One forward pass per generated token: the prefill yields the first.
                        let passes = a.generated.count
                        results[a.index] = GenerationResult(
                            text: Self.cut(String(decoding: a.bytes, as: UTF8.self), at: a.request.until),
                            stopReason: stop, promptTokens: a.promptTokens, generatedTokens: a.generated.count,
                            path: path, blockApplications: passes * path.count, forwardPasses: passes)
                    } else {
                        running.append(a)
                    }
                }
                active = running
                // Sequences with the same path step together; groups in first-appearance order.
                var groups: [LayerPath: [Active]] = [:]
                var order: [LayerPath] = []
                for a in active {
                    let p = a.sequence.path!
                    if groups[p] == nil { order.append(p) }
                    groups[p, default: []].append(a)
                }
                for p in order {
                    let members = groups[p]!
                    let x = workspace.buffer(10, members.count * d)
                    decodeStep(members.map(\.next), sequences: members.map(\.sequence), x: x)
                    let out = workspace.buffer(11, members.count * vocab)
                    logits(x, rows: members.count, into: out)
                    for (i, a) in members.enumerated() { a.next = Self.argmax(out + i * vocab, vocab) }
                }
            }
        }
        return results.map { $0! }
    }

    /// Cuts `text` at the earliest occurrence of any stop string (lm-eval splits on each in turn).
    public static func cut(_ text: String, at until: [String]) -> String {
        var s = text
        for stop in until where !stop.isEmpty {
            if let r = s.range(of: stop) { s = String(s[..<r.lowerBound]) }
        }
        return s
    }

    static func argmax(_ x: UnsafePointer<Float>, _ n: Int) -> Int32 {
        var best = 0
        var m = x[0]
        for i in 1..<n where x[i] > m { m = x[i]; best = i }
        return Int32(best)
    }
}
