extension BPETokenizer {
    /// The bytes token `id` stands for (llama.cpp's `token_to_piece` with `special = true`):
    /// byte-level tokens map back to raw bytes, which may be part of a UTF-8 character; control
    /// and user-defined tokens give their spelling. Empty for ids outside the vocabulary.
    public func bytes(of id: Int32) -> [UInt8] {
        guard isInVocabulary(id) else { return [] }
        return Array(pieceBytes[pieceStarts[Int(id)]..<pieceStarts[Int(id) + 1]])
    }

    /// The text of a token sequence; invalid UTF-8 (a character cut off by the end of the
    /// sequence) becomes U+FFFD.
    ///
    /// The pieces are concatenated as they are: no clean-up of spaces before punctuation, so
    /// `decode(encode(t))` is `t` for every text.
    ///
    /// - Parameter renderSpecial: when false, control and unknown tokens contribute nothing
    ///   (llama.cpp's `special = false`).
    public func decode(_ ids: [Int32], renderSpecial: Bool = true) -> String {
        var buffer: [UInt8] = []
        for id in ids { appendPiece(id, renderSpecial: renderSpecial, to: &buffer) }
        return String(decoding: buffer, as: UTF8.self)
    }

    func appendPiece(_ id: Int32, renderSpecial: Bool, to buffer: inout [UInt8]) {
        guard isInVocabulary(id) else { return }
        if !renderSpecial && !attributes[Int(id)].isDisjoint(with: .hiddenUnlessSpecial) { return }
        buffer.append(contentsOf: pieceBytes[pieceStarts[Int(id)]..<pieceStarts[Int(id) + 1]])
    }
}

/// Turns generated tokens into text as they arrive, holding back the bytes of a UTF-8 character
/// that a token boundary cut in two until the rest of it arrives.
public struct StreamingDecoder: Sendable {
    private let tokenizer: BPETokenizer
    private let renderSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: BPETokenizer, renderSpecial: Bool = true) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// The text completed by `id`: everything up to the last whole character received so far.
    public mutating func append(_ id: Int32) -> String {
        tokenizer.appendPiece(id, renderSpecial: renderSpecial, to: &pending)
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is still held back (an unfinished character, shown as U+FFFD); resets the decoder.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix that does not end inside a character whose remaining bytes
    /// may still come: only a trailing lead byte followed by fewer continuation bytes than it
    /// announces is held back; any other invalid byte is passed on (and shown as U+FFFD).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        // Step back over at most three continuation bytes to the lead byte of the last character.
        while i >= 0 && n - i <= 3 && bytes[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= 0 else { return n }
        let lead = bytes[i]
        let expected: Int
        switch lead {
        case 0xC2...0xDF: expected = 2
        case 0xE0...0xEF: expected = 3
        case 0xF0...0xF4: expected = 4
        default: return n
        }
        return n - i < expected ? i : n
    }
}
