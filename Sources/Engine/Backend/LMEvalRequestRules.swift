/// lm-evaluation-harness's rules for turning text requests into tokens, held once for every
/// backend that tokenises (the native engine; an HTTP backend that knows the model's tokenizer):
/// the context/continuation boundary (`_encode_pair`), left truncation of prompts that leave no
/// room to generate, the clamp for generation budgets larger than the context (AIME), and cutting
/// generations at stop strings.
public struct LMEvalRequestRules: Sendable {
    /// The tokenizer requests are encoded with.
    public let tokenizer: BPETokenizer
    /// The model's context window in tokens.
    public let contextLength: Int

    public init(tokenizer: BPETokenizer, contextLength: Int) {
        self.tokenizer = tokenizer
        self.contextLength = contextLength
    }

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
        // Python's str.rstrip() strips White_Space plus the separators U+001C...U+001F.
        func isPythonSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace || (0x1C...0x1F).contains(c.value) }
        while trailing > 0, isPythonSpace(scalars[trailing - 1]) { trailing -= 1 }
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

    /// Fits a prompt and a generation budget into the context window. lm-eval left-truncates the
    /// prompt to `context − maxTokens`; a budget that leaves no room for the prompt (AIME's 32768
    /// on an 8k model, where lm-eval itself asserts) is instead clamped to what the prompt leaves.
    public func fitToContext(_ ids: [Int32], maxTokens: Int) throws(EngineError) -> (ids: [Int32], maxTokens: Int) {
        let limit = contextLength
        var maxNew = max(1, maxTokens)
        if maxNew >= limit / 2 { maxNew = max(1, min(maxNew, limit - ids.count)) }
        guard ids.count < limit else { throw .tooLong(tokens: ids.count, limit: limit) }
        let budget = limit - maxNew
        return (ids.count > budget ? Array(ids.suffix(budget)) : ids, maxNew)
    }

    /// Cuts `text` at the earliest occurrence of any stop string (lm-eval splits on each in turn).
    public static func cut(_ text: String, at until: [String]) -> String {
        var s = text
        for stop in until where !stop.isEmpty {
            if let r = s.range(of: stop) { s = String(s[..<r.lowerBound]) }
        }
        return s
    }
}
