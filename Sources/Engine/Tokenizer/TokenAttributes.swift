/// What kind of token a vocabulary entry is (llama.cpp's `llama_token_attr`), derived from
/// `tokenizer.ggml.token_type` plus llama.cpp's name-based corrections.
public struct TokenAttributes: OptionSet, Sendable, Hashable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The unknown-word token (type 2).
    public static let unknown = TokenAttributes(rawValue: 1 << 0)
    /// A reserved, unused entry (type 5): decodes to nothing.
    public static let unused = TokenAttributes(rawValue: 1 << 1)
    /// An ordinary byte-level token (type 1).
    public static let normal = TokenAttributes(rawValue: 1 << 2)
    /// A control token such as `<|im_start|>` (type 3, or recognised by spelling).
    public static let control = TokenAttributes(rawValue: 1 << 3)
    /// A token added by the model's authors (type 4): always recognised in text, decodes verbatim.
    public static let userDefined = TokenAttributes(rawValue: 1 << 4)
    /// A "<0xXX>" byte token (type 6).
    public static let byte = TokenAttributes(rawValue: 1 << 5)

    /// The attributes of a GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte; anything else is "undefined", i.e. no attribute).
    public init(ggufTokenType type: Int) {
        switch type {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    /// Tokens that `encode` recognises in text by their spelling (control and unknown ones only
    /// when asked to parse special tokens; user-defined ones always).
    static let matchedInText: TokenAttributes = [.control, .userDefined, .unknown]
    /// Tokens that decode to their raw text rather than through the byte-level mapping.
    static let rendersVerbatim: TokenAttributes = [.control, .userDefined, .unknown]
    /// Tokens that are left out of the text when special tokens are not rendered.
    static let hiddenUnlessSpecial: TokenAttributes = [.control, .unknown]
}
