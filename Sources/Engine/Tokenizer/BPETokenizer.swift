/// A byte-level BPE tokenizer ("gpt2" in GGUF terms) that produces exactly llama.cpp's token ids.
///
/// Encoding follows `llama_vocab::tokenize`: special tokens are cut out of the text first
/// (longest spelling first), every remaining piece is split into words by the pre-tokenizer named
/// in `tokenizer.ggml.pre`, and each word's bytes are merged by rank (lowest first, leftmost on
/// ties). Decoding maps ids back to bytes; special tokens decode to their spelling.
///
/// A value type with immutable tables: safe to share between threads and cheap to copy.
public struct BPETokenizer: Sendable {
    /// The pre-tokenizer splitting text into words.
    public let preTokenizer: PreTokenizer
    /// Beginning-of-sequence token, if the vocabulary has one.
    public let bosToken: Int32?
    /// End-of-sequence token, if the vocabulary has one.
    public let eosToken: Int32?
    /// Whether `encode(_:addSpecial: true, ...)` prepends `bosToken` (`tokenizer.ggml.add_bos_token`).
    public let addBOS: Bool
    /// Whether `encode(_:addSpecial: true, ...)` appends `eosToken` (`tokenizer.ggml.add_eos_token`).
    public let addEOS: Bool
    /// The Jinja chat template (`tokenizer.chat_template`), if the file has one.
    public let chatTemplate: String?
    /// Tokens that end generation, chosen as llama.cpp chooses them: EOS, the end-of-turn tokens
    /// recognised by their spelling ("<|im_end|>", "<|eot_id|>", "<|endoftext|>", ...) and the
    /// FIM pad/repo/separator tokens.
    public let endOfGenerationTokens: Set<Int32>

    let texts: [String]
    let attributes: [TokenAttributes]
    let idOfText: [String: Int32]
    /// Every token's decoded bytes, concatenated; token `i` is `pieceBytes[pieceStarts[i]..<pieceStarts[i+1]]`.
    let pieceBytes: [UInt8]
    let pieceStarts: [Int]
    /// Special tokens in the order llama.cpp tries them (longest spelling first).
    let specialTokens: [SpecialToken]
    let bpe: MergeTable

    struct SpecialToken: Sendable {
        let id: Int32
        let bytes: [UInt8]
        /// Control and unknown tokens are only recognised when parsing special tokens.
        let needsParseSpecial: Bool
    }

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { texts.count }

    /// The vocabulary spelling of a token (byte-level form for normal tokens, e.g. "Ġthe"),
    /// or "" for an id outside the vocabulary.
    public func tokenText(_ id: Int32) -> String {
        isInVocabulary(id) ? texts[Int(id)] : ""
    }

    /// The id whose vocabulary spelling is exactly `text` (e.g. "<|im_end|>" or "Ġthe").
    public func token(forText text: String) -> Int32? { idOfText[text] }

    /// The token's attributes; empty for an id outside the vocabulary.
    public func attributes(of id: Int32) -> TokenAttributes {
        isInVocabulary(id) ? attributes[Int(id)] : []
    }

    /// True for control tokens (`<|im_start|>`, `<|endoftext|>`, ...).
    public func isControl(_ id: Int32) -> Bool { attributes(of: id).contains(.control) }

    @inline(__always)
    func isInVocabulary(_ id: Int32) -> Bool { id >= 0 && Int(id) < texts.count }

    // MARK: - Construction

    /// The tokenizer stored in a GGUF file's `tokenizer.*` metadata.
    public init(gguf file: GGUFFile) throws(TokenizerError) {
        let path = file.path
        func wrap<T>(_ body: () throws(GGUFError) -> T) throws(TokenizerError) -> T {
            do { return try body() } catch { throw .metadata(error) }
        }
        func optionalString(_ key: String) throws(TokenizerError) -> String? {
            guard let value = file.metadata[key] else { return nil }
            guard let s = value.stringValue else {
                throw .metadata(.wrongKeyType(file: path, key: key, expected: "string", found: value.type.description))
            }
            return s
        }

        let model = try wrap { () throws(GGUFError) in try file.string("tokenizer.ggml.model") }
        guard model == "gpt2" else { throw .unsupportedModel(file: path, model: model) }
        let pre = try PreTokenizer(name: try optionalString("tokenizer.ggml.pre") ?? "", file: path)
        let tokens = try wrap { () throws(GGUFError) in try file.stringArray("tokenizer.ggml.tokens") }
        let types = try wrap { () throws(GGUFError) in try file.optionalIntArray("tokenizer.ggml.token_type") }
        let merges = try wrap { () throws(GGUFError) in try file.stringArray("tokenizer.ggml.merges") }
        var ids: [String: Int] = [:]
        for key in SpecialIDKeys.all {
            if let v = try wrap({ () throws(GGUFError) in try file.optionalInt(key) }) { ids[key] = v }
        }
        let addBOS = try wrap { () throws(GGUFError) in try file.optionalBool("tokenizer.ggml.add_bos_token") }
        let addEOS = try wrap { () throws(GGUFError) in try file.optionalBool("tokenizer.ggml.add_eos_token") }
        try self.init(source: path, texts: tokens, types: types, merges: merges, preTokenizer: pre,
                      specialIDs: ids, defaultSpecialID: 11, addBOS: addBOS, addEOS: addEOS,
                      chatTemplate: try optionalString("tokenizer.chat_template"))
    }

    /// A tokenizer from explicit vocabulary arrays, for tests and tools.
    ///
    /// - Parameters:
    ///   - vocabulary: token spellings in byte-level form, indexed by id.
    ///   - tokenTypes: GGUF token types (1 normal, 3 control, ...) per id; empty means all normal.
    ///   - merges: "left right" merge rules in rank order.
    ///   - preTokenizer: a `tokenizer.ggml.pre` name ("smollm", "qwen2", "llama-bpe", "gpt2", "default", ...).
    ///   - addBOS, addEOS: nil keeps the pre-tokenizer's default (true for BOS with Llama 3, else false).
    public init(vocabulary: [String], tokenTypes: [Int32], merges: [String], preTokenizer: String,
                bos: Int32? = nil, eos: Int32? = nil, addBOS: Bool? = nil, addEOS: Bool? = nil,
                chatTemplate: String? = nil) throws(TokenizerError) {
        let source = "tokenizer"
        var ids: [String: Int] = [:]
        for (key, value) in [(SpecialIDKeys.bos, bos), (SpecialIDKeys.eos, eos)] {
            guard let value else { continue }
            guard value >= 0 && Int(value) < vocabulary.count else {
                throw .invalidVocabulary(file: source, key: key,
                                         reason: "id \(value) is outside the vocabulary of \(vocabulary.count) tokens")
            }
            ids[key] = Int(value)
        }
        try self.init(source: source, texts: vocabulary, types: tokenTypes.isEmpty ? nil : tokenTypes.map(Int.init),
                      merges: merges, preTokenizer: try PreTokenizer(name: preTokenizer), specialIDs: ids,
                      defaultSpecialID: nil, addBOS: addBOS, addEOS: addEOS, chatTemplate: chatTemplate)
    }

    /// llama.cpp's `llama_vocab::impl::load` for BPE vocabularies.
    private init(source: String, texts rawTexts: [String], types: [Int]?, merges: [String], preTokenizer: PreTokenizer,
                 specialIDs: [String: Int], defaultSpecialID: Int?, addBOS: Bool?, addEOS: Bool?,
                 chatTemplate: String?) throws(TokenizerError) {
        let count = rawTexts.count
        guard count > 0 else {
            throw .invalidVocabulary(file: source, key: "tokenizer.ggml.tokens", reason: "is empty, expected at least one token")
        }
        if let types, types.count < count {
            throw .invalidVocabulary(file: source, key: "tokenizer.ggml.token_type",
                                     reason: "has \(types.count) entries, expected \(count) (one per token)")
        }
        guard count <= Int(Int32.max) else {
            throw .invalidVocabulary(file: source, key: "tokenizer.ggml.tokens", reason: "has \(count) tokens, more than token ids can hold")
        }

        var texts = rawTexts
        var idOfText: [String: Int32] = [:]
        idOfText.reserveCapacity(count)
        for i in 0..<count {
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }  // as llama.cpp renames empty entries
            if let previous = idOfText.updateValue(Int32(i), forKey: texts[i]) {
                throw .invalidVocabulary(file: source, key: "tokenizer.ggml.tokens",
                                         reason: "duplicate token '\(texts[i])' has ids \(previous) and \(i)")
            }
        }
        var attributes = (0..<count).map { i in types.map { TokenAttributes(ggufTokenType: $0[i]) } ?? .normal }

        // Special ids: the model's default (11 for "gpt2" in llama.cpp, when inside the vocabulary),
        // replaced by the metadata value when that is inside the vocabulary.
        func specialID(_ key: String, default fallback: Int?) -> Int32? {
            if let v = specialIDs[key], v >= 0, v < count { return Int32(v) }
            if let fallback, fallback < count { return Int32(fallback) }
            return nil
        }
        let bos = specialID(SpecialIDKeys.bos, default: preTokenizer.hasBOS ? defaultSpecialID : nil)
        let eos = specialID(SpecialIDKeys.eos, default: defaultSpecialID)
        let eot = specialID(SpecialIDKeys.eot, default: nil)
        let addsBOS = addBOS ?? preTokenizer.addsBOSByDefault
        let addsEOS = addEOS ?? false
        if addsBOS && bos == nil {
            throw .missingSpecialToken(file: source, flagKey: "tokenizer.ggml.add_bos_token", idKey: SpecialIDKeys.bos)
        }
        if addsEOS && eos == nil {
            throw .missingSpecialToken(file: source, flagKey: "tokenizer.ggml.add_eos_token", idKey: SpecialIDKeys.eos)
        }

        let endOfGeneration = NameRules.apply(texts: texts, idOfText: idOfText, attributes: &attributes,
                                              specialIDs: specialIDs, eos: eos, eot: eot)

        self.preTokenizer = preTokenizer
        self.bosToken = bos
        self.eosToken = eos
        self.addBOS = addsBOS
        self.addEOS = addsEOS
        self.chatTemplate = chatTemplate
        self.endOfGenerationTokens = endOfGeneration
        self.texts = texts
        self.attributes = attributes
        self.idOfText = idOfText
        (self.pieceBytes, self.pieceStarts) = Self.pieces(texts: texts, attributes: attributes)
        self.specialTokens = Self.specialTokens(texts: texts, attributes: attributes)
        self.bpe = MergeTable(texts: texts, merges: merges, keepWholeWords: preTokenizer.ignoresMerges)
    }

    /// The bytes each token decodes to (llama.cpp's `token_to_piece` with `special = true`).
    private static func pieces(texts: [String], attributes: [TokenAttributes]) -> ([UInt8], [Int]) {
        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        starts.reserveCapacity(texts.count + 1)
        for (text, attr) in zip(texts, attributes) {
            if !attr.isDisjoint(with: .rendersVerbatim) {
                bytes.append(contentsOf: text.utf8)
            } else if attr.contains(.normal) {
                for scalar in text.unicodeScalars {
                    if let b = ByteLevel.byte(of: scalar) {
                        bytes.append(b)
                    } else {
                        // llama.cpp's `llama_decode_text` marks scalars outside the byte mapping this way.
                        bytes.append(contentsOf: "[UNK_BYTE_0x".utf8)
                        for b in String(scalar).utf8 { bytes.append(contentsOf: hex2(b).utf8) }
                        bytes.append(contentsOf: text.utf8)
                        bytes.append(UInt8(ascii: "]"))
                    }
                }
            } else if attr.contains(.byte) {
                bytes.append(byteTokenValue(text))
            }
            starts.append(bytes.count)
        }
        return (bytes, starts)
    }

    private static func hex2(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: [digits[Int(b >> 4)], digits[Int(b & 15)]], as: UTF8.self)
    }

    /// The value of a "<0xXX>" byte token, read as llama.cpp reads it (`strtol` of the two
    /// characters after "<0x"; 0 when they are not hexadecimal).
    private static func byteTokenValue(_ text: String) -> UInt8 {
        let chars = Array(text.utf8.dropFirst(3).prefix(2))
        var value = 0
        for c in chars {
            guard let d = Int(String(UnicodeScalar(c)), radix: 16) else { break }
            value = value * 16 + d
        }
        return UInt8(truncatingIfNeeded: value)
    }

    private static func specialTokens(texts: [String], attributes: [TokenAttributes]) -> [SpecialToken] {
        var out: [SpecialToken] = []
        for (i, attr) in attributes.enumerated() where !attr.isDisjoint(with: .matchedInText) {
            out.append(SpecialToken(id: Int32(i), bytes: Array(texts[i].utf8),
                                    needsParseSpecial: !attr.isDisjoint(with: .hiddenUnlessSpecial)))
        }
        // Longest first, as llama.cpp; its sort leaves equal lengths in unspecified order, lowest id first here.
        out.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }
        return out
    }
}

/// Metadata keys of the special token ids.
enum SpecialIDKeys {
    static let bos = "tokenizer.ggml.bos_token_id"
    static let eos = "tokenizer.ggml.eos_token_id"
    static let eot = "tokenizer.ggml.eot_token_id"
    static let fimPre = ["tokenizer.ggml.fim_pre_token_id", "tokenizer.ggml.prefix_token_id"]
    static let fimSuf = ["tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.suffix_token_id"]
    static let fimMid = ["tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.middle_token_id"]
    static let fimPad = ["tokenizer.ggml.fim_pad_token_id"]
    static let fimRep = ["tokenizer.ggml.fim_rep_token_id"]
    static let fimSep = ["tokenizer.ggml.fim_sep_token_id"]
    static let all = [bos, eos, eot] + fimPre + fimSuf + fimMid + fimPad + fimRep + fimSep
}

/// llama.cpp's corrections of token types by spelling (its GGUF converters do not always mark
/// end-of-turn and fill-in-the-middle tokens as control tokens), and its end-of-generation set.
enum NameRules {
    static let endOfGeneration: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
    ]
    static let fimPre = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                         "<|code_prefix|>", "<|prefix|>"]
    static let fimSuf = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                         "<|code_suffix|>", "<|suffix|>"]
    static let fimMid = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                         "<|code_middle|>", "<|middle|>"]
    static let fimPad = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRep = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSep = ["<|file_sep|>"]
    /// gpt-oss channel markers, always rendered as user-defined tokens.
    static let alwaysUserDefined: Set<String> = ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]

    /// Adjusts `attributes` as llama.cpp does and returns the end-of-generation ids.
    static func apply(texts: [String], idOfText: [String: Int32], attributes: inout [TokenAttributes],
                      specialIDs: [String: Int], eos: Int32?, eot: Int32?) -> Set<Int32> {
        let count = texts.count
        func metadataID(_ keys: [String]) -> Int32? {
            for key in keys { if let v = specialIDs[key], v >= 0, v < count { return Int32(v) } }
            return nil
        }
        // A FIM id missing from the metadata is found by spelling and then made a control token.
        // llama.cpp takes the first spelling its hash map yields; the lowest id is taken here.
        func fim(_ keys: [String], _ names: [String]) -> Int32? {
            if let id = metadataID(keys) { return id }
            guard let id = names.compactMap({ idOfText[$0] }).min() else { return nil }
            attributes[Int(id)].insert(.control)
            return id
        }
        _ = fim(SpecialIDKeys.fimPre, fimPre)
        _ = fim(SpecialIDKeys.fimSuf, fimSuf)
        _ = fim(SpecialIDKeys.fimMid, fimMid)
        var eog = Set<Int32>()
        for id in [fim(SpecialIDKeys.fimPad, fimPad), fim(SpecialIDKeys.fimRep, fimRep), fim(SpecialIDKeys.fimSep, fimSep)] {
            if let id { eog.insert(id) }
        }
        for name in endOfGeneration {
            guard let id = idOfText[name] else { continue }
            eog.insert(id)
            attributes[Int(id)].insert(.control)
        }
        for name in alwaysUserDefined {
            if let id = idOfText[name] { attributes[Int(id)] = .userDefined }
        }
        if let eos { eog.insert(eos) }
        if let eot { eog.insert(eot) }
        // o200k_harmony / solar-open: "<|end|>" ends a message, not the generation.
        let spelled = Set(eog.map { texts[Int($0)] })
        let hasCall = spelled.contains("<|call|>") || spelled.contains("<|calls|>")
        if let end = idOfText["<|end|>"], eog.contains(end),
           hasCall && (spelled.contains("<|return|>") || spelled.contains("<|flush|>")) {
            eog.remove(end)
            attributes[Int(end)] = .userDefined
        }
        return eog
    }
}
