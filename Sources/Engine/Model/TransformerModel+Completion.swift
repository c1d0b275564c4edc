import Foundation

/// One completion as an OpenAI-style completions server runs it: token ids in, greedy tokens out,
/// with the log-probabilities of prompt tokens (`echo`) and generated tokens on request.
///
/// Unlike `GenerationRequest` (lm-eval's rules: text in, the prompt left-truncated to fit), the
/// prompt is taken as given: one that does not fit with `maxTokens` is refused, never cut.
public struct TokenCompletionRequest: Sendable, Hashable {
    /// The prompt's token ids (no BOS is added).
    public var prompt: [Int32]
    /// New tokens to generate at most (0: none, as with `echo` alone).
    public var maxTokens: Int
    /// Generation stops once the generated text contains one of these; the text is cut before it.
    public var stop: [String]
    /// Score every prompt token given the tokens before it (OpenAI's `echo` with `logprobs`).
    public var scorePrompt: Bool
    /// Alternatives to list per scored position (OpenAI's `logprobs` N); nil: no log-probabilities.
    public var topLogprobs: Int?

    public init(prompt: [Int32], maxTokens: Int, stop: [String] = [], scorePrompt: Bool = false, topLogprobs: Int? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.stop = stop
        self.scorePrompt = scorePrompt
        self.topLogprobs = topLogprobs
    }
}

/// The log-probability of one token at its position, with the most likely alternatives there.
public struct TokenLogprob: Sendable, Hashable {
    /// The token at this position.
    public var token: Int32
    /// Its log-probability given the tokens before it; nil for the first prompt token (nothing
    /// conditions it).
    public var logprob: Double?
    /// The `topLogprobs` most likely tokens at this position, most likely first (ties: lower id
    /// first); empty for the first prompt token.
    public var top: [TokenAlternative]

    public init(token: Int32, logprob: Double?, top: [TokenAlternative]) {
        self.token = token
        self.logprob = logprob
        self.top = top
    }
}

/// A candidate token and its log-probability.
public struct TokenAlternative: Sendable, Hashable {
    public var token: Int32
    public var logprob: Double

    public init(token: Int32, logprob: Double) {
        self.token = token
        self.logprob = logprob
    }
}

/// The answer to a `TokenCompletionRequest`.
public struct TokenCompletion: Sendable, Hashable {
    /// Per prompt token when `scorePrompt` and `topLogprobs` were set, else empty.
    public var promptLogprobs: [TokenLogprob]
    /// The generated tokens, the one that completed a stop string included and an
    /// end-of-generation token excluded.
    public var generated: [Int32]
    /// Per generated token when `topLogprobs` was set, else empty; an end-of-generation token
    /// that ended the completion has an entry too (it is not in `generated` nor in the text).
    public var generatedLogprobs: [TokenLogprob]
    /// The generated text, cut before the first stop string.
    public var text: String
    /// Why generation ended (`maxTokens` also when `maxTokens` was 0).
    public var stopReason: StopReason
    /// The path this sequence ran.
    public var path: LayerPath
    /// Block applications over every forward pass of the request.
    public var blockApplications: Int
    /// Forward passes: the prefill, then one per generated token after the first.
    public var forwardPasses: Int

    public init(promptLogprobs: [TokenLogprob], generated: [Int32], generatedLogprobs: [TokenLogprob], text: String,
                stopReason: StopReason, path: LayerPath, blockApplications: Int, forwardPasses: Int) {
        self.promptLogprobs = promptLogprobs
        self.generated = generated
        self.generatedLogprobs = generatedLogprobs
        self.text = text
        self.stopReason = stopReason
        self.path = path
        self.blockApplications = blockApplications
        self.forwardPasses = forwardPasses
    }
}

extension TransformerModel {
    /// Rows of the output head per call when every prompt position is scored (`echo`), counted
    /// from position 0; `RoutingInput.sequence` scoring uses the same chunks.
    static let promptScoringRowsPerChunk = 16

    /// Runs completions; sequences of one call decode together (the decode kernels are
    /// batch-invariant, so each answer is the one it would get alone). Throws before any work
    /// when a request is refused: empty prompt, token out of the vocabulary, prompt plus
    /// `maxTokens` beyond the context window, invalid path.
    public func complete(_ requests: [TokenCompletionRequest], policy: LayerPolicy) throws -> [TokenCompletion] {
        let (fixedPath, decider) = try resolve(policy)
        for r in requests {
            guard !r.prompt.isEmpty else { throw EngineError.emptyPrompt }
            try checkTokens(r.prompt)
            let needed = r.prompt.count + max(0, r.maxTokens)
            guard needed <= configuration.contextLength else {
                throw EngineError.tooLong(tokens: needed, limit: configuration.contextLength)
            }
        }
        var results = [TokenCompletion?](repeating: nil, count: requests.count)
        var start = 0
        while start < requests.count {
            let chunk = start..<min(requests.count, start + quantizedRowLimit)
            start = chunk.upperBound
            var decoding: [CompletionSequence] = []
            for i in chunk {
                let sequence = prefillForCompletion(requests[i], path: fixedPath, decider: decider)
                if requests[i].maxTokens > 0 {
                    decoding.append(sequence)
                } else {
                    results[i] = sequence.finish(reason: .maxTokens, tokenizer: tokenizer)
                }
                sequence.index = i
            }
            for s in decodeCompletions(decoding) { results[s.index] = s.finish(reason: s.stopReason!, tokenizer: tokenizer) }
        }
        return results.map { $0! }
    }

    /// Prefills one prompt, scoring its tokens when asked; the sequence's next token is the
    /// prompt's greedy continuation.
    private func prefillForCompletion(_ r: TokenCompletionRequest, path fixedPath: LayerPath?,
                                      decider: (any PathDecider)?) -> CompletionSequence {
        let d = configuration.width, vocab = configuration.vocabularySize
        let seq = makeSequence(capacity: r.prompt.count + max(0, r.maxTokens), path: fixedPath)
        let x = workspace.buffer(.hidden, r.prompt.count * d)
        forward(r.prompt[...], sequence: seq, decider: decider, x: x)
        let completion = CompletionSequence(request: r, sequence: seq)
        let n = r.prompt.count
        if r.scorePrompt, let top = r.topLogprobs {
            completion.promptLogprobs.append(TokenLogprob(token: r.prompt[0], logprob: nil, top: []))
            // The output head in fixed chunks of rows, so a prompt's numbers never depend on what
            // else is running.
            let rowsPerChunk = Self.promptScoringRowsPerChunk
            var row = 0
            while row < n {
                let rows = min(rowsPerChunk, n - row)
                let out = workspace.buffer(.logits, rows * vocab)
                logits(x + row * d, rows: rows, into: out)
                for j in 0..<rows {
                    let position = row + j
                    let scores = out + j * vocab
                    if position + 1 < n {
                        completion.promptLogprobs.append(Self.tokenLogprob(scores, vocab: vocab, token: r.prompt[position + 1], top: top))
                    } else {
                        completion.next = Self.argmax(scores, vocab)
                        completion.nextScores = Array(UnsafeBufferPointer(start: scores, count: vocab))
                    }
                }
                row += rows
            }
        } else {
            let out = workspace.buffer(.logits, vocab)
            logits(x + (n - 1) * d, rows: 1, into: out)
            completion.next = Self.argmax(out, vocab)
            if r.topLogprobs != nil { completion.nextScores = Array(UnsafeBufferPointer(start: out, count: vocab)) }
        }
        return completion
    }

    /// Greedy decoding of prefilled completions until each stops; all step together.
    private func decodeCompletions(_ start: [CompletionSequence]) -> [CompletionSequence] {
        let eog = tokenizer.endOfGenerationTokens
        let d = configuration.width, vocab = configuration.vocabularySize
        var finished: [CompletionSequence] = []
        var active = start
        while !active.isEmpty {
            var running: [CompletionSequence] = []
            for a in active {
                let token = a.next
                if let top = a.request.topLogprobs, let scores = a.nextScores {
                    a.generatedLogprobs.append(scores.withUnsafeBufferPointer {
                        Self.tokenLogprob($0.baseAddress!, vocab: vocab, token: token, top: top)
                    })
                }
                if eog.contains(token) {
                    // Not part of the text, but listed with its log-probability, as OpenAI-style
                    // servers list it: clients such as lm-eval drop the last entry of an echoed
                    // answer as "the generated token", so there must always be one.
                    a.stopReason = .endOfSequence
                } else {
                    a.generated.append(token)
                    if !tokenizer.isControl(token) { a.bytes += tokenizer.bytes(of: token) }
                    let text = String(decoding: a.bytes, as: UTF8.self)
                    if a.request.stop.contains(where: { !$0.isEmpty && text.contains($0) }) {
                        a.stopReason = .stopString
                    } else if a.generated.count >= a.request.maxTokens {
                        a.stopReason = .maxTokens
                    }
                }
                a.passes += 1
                if a.stopReason == nil { running.append(a) } else { finished.append(a) }
            }
            active = running
            guard !active.isEmpty else { break }
            let x = workspace.buffer(.hidden, active.count * d)
            decodeStep(active.map(\.next), sequences: active.map(\.sequence), x: x)
            let out = workspace.buffer(.logits, active.count * vocab)
            decodeLogits(x, rows: active.count, into: out)
            for (i, a) in active.enumerated() {
                a.next = Self.argmax(out + i * vocab, vocab)
                if a.request.topLogprobs != nil { a.nextScores = Array(UnsafeBufferPointer(start: out + i * vocab, count: vocab)) }
            }
        }
        return finished
    }

    /// The log-probability of `token` under `logits` (log-sum-exp in f64, as `scoreToken`) and the
    /// `top` most likely tokens, computed the same way so a greedy token's entry equals the best
    /// alternative's bit for bit.
    static func tokenLogprob(_ logits: UnsafePointer<Float>, vocab: Int, token: Int32, top: Int) -> TokenLogprob {
        var m = logits[0]
        for i in 1..<vocab where logits[i] > m { m = logits[i] }
        var s = 0.0
        let md = Double(m)
        for i in 0..<vocab { s += exp(Double(logits[i]) - md) }
        // (logit − max) − log Σ, in the order `scoreToken` uses, so a continuation's echoed
        // log-probabilities sum to the very number `loglikelihood` gives for the same logits.
        let logSum = log(s)
        func logprob(_ id: Int) -> Double { Double(logits[id]) - md - logSum }
        var best: [Int] = []
        if top > 0 {
            // Keep the `top` largest (ties: lower id first) in a small sorted list.
            for i in 0..<vocab {
                let v = logits[i]
                if best.count == top, let last = best.last, !(v > logits[last]) { continue }
                var at = best.count
                while at > 0 && v > logits[best[at - 1]] { at -= 1 }
                best.insert(i, at: at)
                if best.count > top { best.removeLast() }
            }
        }
        return TokenLogprob(token: token, logprob: logprob(Int(token)),
                            top: best.map { TokenAlternative(token: Int32($0), logprob: logprob($0)) })
    }
}

/// A completion being computed: its request, cache, the token it will accept next and what it
/// has produced so far.
private final class CompletionSequence {
    let request: TokenCompletionRequest
    let sequence: SequenceState
    var index = 0
    var next: Int32 = 0
    /// Logits of the position that predicts `next` (kept only when log-probabilities are asked for).
    var nextScores: [Float]?
    var promptLogprobs: [TokenLogprob] = []
    var generated: [Int32] = []
    var generatedLogprobs: [TokenLogprob] = []
    var bytes: [UInt8] = []
    var passes = 0
    var stopReason: StopReason?

    init(request: TokenCompletionRequest, sequence: SequenceState) {
        self.request = request
        self.sequence = sequence
    }

    func finish(reason: StopReason, tokenizer: BPETokenizer) -> TokenCompletion {
        let path = sequence.path!
        let passes = max(1, self.passes)
        return TokenCompletion(
            promptLogprobs: promptLogprobs, generated: generated, generatedLogprobs: generatedLogprobs,
            text: LMEvalRequestRules.cut(String(decoding: bytes, as: UTF8.self), at: request.stop),
            stopReason: reason, path: path, blockApplications: passes * path.count, forwardPasses: passes)
    }
}
