/// Splits text into the words that byte-level BPE then encodes one by one, exactly as llama.cpp's
/// `unicode_regex_split` does for a `tokenizer.ggml.pre` name.
///
/// In llama.cpp a pre-tokenizer is a list of regexes applied one after another: each regex
/// re-splits every piece produced by the previous one, and both its matches and the text between
/// matches become pieces. The regexes are implemented here by hand, one matcher per pattern, with
/// the semantics llama.cpp observably has (its hand-written GPT-2 and Llama-3 splitters, and
/// ECMAScript `std::regex` over category-collapsed text for the others). Classes are tested on
/// Unicode scalars, never grapheme clusters.
public struct PreTokenizer: Sendable, Hashable {
    /// The `tokenizer.ggml.pre` name this pre-tokenizer was made from.
    public let name: String
    let rules: [Rule]
    /// llama.cpp's `ignore_merges`: a word that is itself a vocabulary token is emitted whole.
    let ignoresMerges: Bool
    /// The `add_bos` default of this pre-tokenizer, before `tokenizer.ggml.add_bos_token` overrides it.
    let addsBOSByDefault: Bool
    /// False where llama.cpp clears the BOS id for this pre-tokenizer (ChatGLM).
    let hasBOS: Bool

    /// One regex of llama.cpp's list.
    enum Rule: Sendable, Hashable {
        /// `\p{N}`: every number scalar on its own.
        case eachNumber
        /// `\p{N}+`.
        case numberRuns
        /// `[0-9][0-9][0-9]`.
        case asciiDigitTriples
        /// `[\p{P}\$\+<=>\^~\|]+`, with the backtick added when `backtick` (Falcon).
        case punctuationRuns(backtick: Bool)
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        /// (contractions lower-case only).
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|`
        /// ` ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (Llama 3 with 3 digits, Qwen2 with 1).
        case llama3(maxDigits: Int)
    }

    /// The names accepted by `init(name:)`, grouped as llama.cpp groups them.
    public static let supportedNames: [String] = families.flatMap(\.names)

    /// The pre-tokenizer llama.cpp uses for `name` (the value of `tokenizer.ggml.pre`; an empty
    /// name means "default", as llama.cpp does when the key is missing).
    ///
    /// "gpt2" is accepted as a spelling of llama.cpp's "gpt-2".
    public init(name: String) throws(TokenizerError) {
        try self.init(name: name, file: "tokenizer")
    }

    init(name: String, file: String) throws(TokenizerError) {
        let lookup = name.isEmpty ? "default" : name
        guard let family = Self.families.first(where: { $0.names.contains(lookup) }) else {
            throw .unknownPreTokenizer(file: file, name: name)
        }
        self.name = lookup
        self.rules = family.rules
        self.ignoresMerges = family.ignoresMerges
        self.addsBOSByDefault = family.addsBOS
        self.hasBOS = family.hasBOS
    }

    /// The pieces of `text`, in order; their concatenation is `text`.
    public func split(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { bytes in
            var scratch = Scratch()
            var words: [Range<Int>] = []
            wordRanges(bytes, 0..<bytes.count, into: &words, scratch: &scratch)
            return words.map { String(decoding: UnsafeBufferPointer(rebasing: bytes[$0]), as: UTF8.self) }
        }
    }

    // MARK: - Families (llama.cpp's `tokenizer_pre` → `pre_type` → `regex_exprs`)

    private struct Family {
        var names: [String]
        var rules: [Rule]
        var ignoresMerges = false
        var addsBOS = false
        var hasBOS = true
    }

    private static let families: [Family] = [
        Family(names: ["default"],
               rules: [.punctuationRuns(backtick: false), .gpt2, .numberRuns, .asciiDigitTriples]),
        Family(names: ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
               rules: [.llama3(maxDigits: 3)], ignoresMerges: true, addsBOS: true),
        Family(names: ["dbrx", "smaug-bpe"], rules: [.llama3(maxDigits: 3)]),
        Family(names: ["glm4", "chatglm-bpe"], rules: [.llama3(maxDigits: 3)], hasBOS: false),
        Family(names: ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open"],
               rules: [.llama3(maxDigits: 1)]),
        Family(names: ["smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2"],
               rules: [.eachNumber, .gpt2]),
        Family(names: ["gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0",
                       "mellum", "modern-bert", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling"],
               rules: [.gpt2]),
        Family(names: ["falcon"], rules: [.punctuationRuns(backtick: true), .gpt2, .asciiDigitTriples]),
    ]

    // MARK: - Splitting

    /// Reusable per-call buffers, so that a long input costs a few allocations, not one per word.
    struct Scratch {
        var scalars: [UInt32] = []
        var classes: [ScalarClass] = []
        /// UTF-8 offset of each scalar, plus the end offset.
        var offsets: [Int] = []
        var ends: [Int] = []
        var nextEnds: [Int] = []
    }

    /// Appends the byte ranges of the words of `bytes[range]` (valid UTF-8) to `words`.
    func wordRanges(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, into words: inout [Range<Int>],
                    scratch: inout Scratch) {
        guard !range.isEmpty else { return }
        decode(bytes, range, &scratch)
        let count = scratch.scalars.count
        scratch.ends.removeAll(keepingCapacity: true)
        scratch.ends.append(count)
        scratch.scalars.withUnsafeBufferPointer { scalars in
            scratch.classes.withUnsafeBufferPointer { classes in
                for rule in rules {
                    scratch.nextEnds.removeAll(keepingCapacity: true)
                    var start = 0
                    for end in scratch.ends {
                        Self.apply(rule, scalars, classes, start, end, &scratch.nextEnds)
                        start = end
                    }
                    swap(&scratch.ends, &scratch.nextEnds)
                }
            }
        }
        var start = 0
        for end in scratch.ends {
            words.append(scratch.offsets[start]..<scratch.offsets[end])
            start = end
        }
    }

    private func decode(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ s: inout Scratch) {
        s.scalars.removeAll(keepingCapacity: true)
        s.classes.removeAll(keepingCapacity: true)
        s.offsets.removeAll(keepingCapacity: true)
        var i = range.lowerBound
        let end = range.upperBound
        while i < end {
            let b0 = UInt32(bytes[i])
            var value: UInt32
            var length: Int
            if b0 < 0x80 {
                value = b0; length = 1
            } else if b0 < 0xE0 {
                value = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F); length = 2
            } else if b0 < 0xF0 {
                value = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F); length = 3
            } else {
                value = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                    | UInt32(bytes[i + 3] & 0x3F)
                length = 4
            }
            s.scalars.append(value)
            s.classes.append(ScalarClass.of(value))
            s.offsets.append(i)
            i += length
        }
        s.offsets.append(end)
    }

    private static func apply(_ rule: Rule, _ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<ScalarClass>,
                              _ s: Int, _ e: Int, _ out: inout [Int]) {
        switch rule {
        case .gpt2:
            splitGPT2(cps, cls, s, e, &out)
        case let .llama3(maxDigits):
            splitLlama3(cps, cls, s, e, maxDigits, &out)
        case .eachNumber:
            splitByMatches(s, e, &out) { p in cls[p].contains(.number) ? p + 1 : nil }
        case .numberRuns:
            splitByMatches(s, e, &out) { p in
                var q = p
                while q < e && cls[q].contains(.number) { q += 1 }
                return q > p ? q : nil
            }
        case .asciiDigitTriples:
            splitByMatches(s, e, &out) { p in
                guard p + 3 <= e else { return nil }
                for q in p..<(p + 3) where !(0x30...0x39).contains(cps[q]) { return nil }
                return p + 3
            }
        case let .punctuationRuns(backtick):
            splitByMatches(s, e, &out) { p in
                var q = p
                while q < e && isPunctuationRunScalar(cps[q], cls[q], backtick: backtick) { q += 1 }
                return q > p ? q : nil
            }
        }
    }

    /// How `std::regex_iterator` splits a piece with a pattern that never matches empty: the
    /// leftmost match at or after the cursor is a piece, and so is the text skipped to reach it.
    @inline(__always)
    private static func splitByMatches(_ s: Int, _ e: Int, _ out: inout [Int], _ matchEnd: (Int) -> Int?) {
        var gapStart = s
        var p = s
        while p < e {
            if let end = matchEnd(p) {
                if p > gapStart { out.append(p) }
                out.append(end)
                p = end
                gapStart = end
            } else {
                p += 1
            }
        }
        if gapStart < e { out.append(e) }
    }

    @inline(__always)
    private static func isPunctuationRunScalar(_ c: UInt32, _ k: ScalarClass, backtick: Bool) -> Bool {
        if k.contains(.punctuation) { return true }
        switch c {
        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
        case 0x60: return backtick
        default: return false
        }
    }

    private static let wordClasses: ScalarClass = [.whitespace, .letter, .number]

    /// llama.cpp's `unicode_regex_split_custom_gpt2`.
    private static func splitGPT2(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<ScalarClass>,
                                  _ s: Int, _ e: Int, _ out: inout [Int]) {
        var pos = s
        while pos < e {
            let c = cps[pos]
            if c == 0x27, pos + 1 < e {  // '
                let n1 = cps[pos + 1]
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {  // s t m d
                    pos += 2; out.append(pos); continue
                }
                if pos + 2 < e {
                    let n2 = cps[pos + 2]
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {  // re ve ll
                        pos += 3; out.append(pos); continue
                    }
                }
            }
            // " ?X+" for X = letters, numbers, or anything but whitespace/letters/numbers.
            let q = c == 0x20 ? pos + 1 : pos
            if q < e {
                let k = cls[q]
                if k.contains(.letter) {
                    pos = q + 1
                    while pos < e && cls[pos].contains(.letter) { pos += 1 }
                    out.append(pos); continue
                }
                if k.contains(.number) {
                    pos = q + 1
                    while pos < e && cls[pos].contains(.number) { pos += 1 }
                    out.append(pos); continue
                }
                if k.isDisjoint(with: wordClasses) {
                    pos = q + 1
                    while pos < e && cls[pos].isDisjoint(with: wordClasses) { pos += 1 }
                    out.append(pos); continue
                }
            }
            var n = 0
            while pos + n < e && cls[pos + n].contains(.whitespace) { n += 1 }
            if n > 1 && pos + n < e {
                // \s+(?!\S): the last space stays to lead the next word.
                pos += n - 1; out.append(pos); continue
            }
            pos += max(n, 1)
            out.append(pos)
        }
    }

    /// llama.cpp's `unicode_regex_split_custom_llama3`; with `maxDigits` 1 it is also what
    /// `std::regex` does with Qwen2's pattern, which differs only in `\p{N}` vs `\p{N}{1,3}`.
    private static func splitLlama3(_ cps: UnsafeBufferPointer<UInt32>, _ cls: UnsafeBufferPointer<ScalarClass>,
                                    _ s: Int, _ e: Int, _ maxDigits: Int, _ out: inout [Int]) {
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { (0x41...0x5A).contains(c) ? c + 0x20 : c }
        @inline(__always) func isNewline(_ c: UInt32) -> Bool { c == 0x0A || c == 0x0D }
        var pos = s
        while pos < e {
            let c = cps[pos]
            let k = cls[pos]
            if c == 0x27, pos + 1 < e {  // contractions, case-insensitive
                let n1 = lower(cps[pos + 1])
                if n1 == 0x73 || n1 == 0x74 || n1 == 0x6D || n1 == 0x64 {
                    pos += 2; out.append(pos); continue
                }
                if pos + 2 < e {
                    let n2 = lower(cps[pos + 2])
                    if (n1 == 0x72 && n2 == 0x65) || (n1 == 0x76 && n2 == 0x65) || (n1 == 0x6C && n2 == 0x6C) {
                        pos += 3; out.append(pos); continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !isNewline(c) && !k.contains(.number) {
                if k.contains(.letter) || (pos + 1 < e && cls[pos + 1].contains(.letter)) {
                    pos += 1
                    while pos < e && cls[pos].contains(.letter) { pos += 1 }
                    out.append(pos); continue
                }
            }
            // \p{N}{1,maxDigits}
            if k.contains(.number) {
                let start = pos
                pos += 1
                while pos < e && pos - start < maxDigits && cls[pos].contains(.number) { pos += 1 }
                out.append(pos); continue
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*"
            let q = c == 0x20 ? pos + 1 : pos
            if q < e && cls[q].isDisjoint(with: wordClasses) {
                pos = q + 1
                while pos < e && cls[pos].isDisjoint(with: wordClasses) { pos += 1 }
                while pos < e && isNewline(cps[pos]) { pos += 1 }
                out.append(pos); continue
            }
            // \s*[\r\n]+ | \s+(?!\S) | \s+
            var n = 0
            var afterLastNewline = -1
            while pos + n < e && cls[pos + n].contains(.whitespace) {
                if isNewline(cps[pos + n]) { afterLastNewline = pos + n + 1 }
                n += 1
            }
            if afterLastNewline >= 0 {
                pos = afterLastNewline; out.append(pos); continue
            }
            if n > 1 && pos + n < e {
                pos += n - 1; out.append(pos); continue
            }
            pos += max(n, 1)
            out.append(pos)
        }
    }
}
