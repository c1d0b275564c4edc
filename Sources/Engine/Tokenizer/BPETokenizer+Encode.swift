extension BPETokenizer {
    /// Token ids of `text`, identical to llama.cpp's `llama_tokenize(text, add_special, parse_special)`.
    ///
    /// - Parameters:
    ///   - addSpecial: prepend BOS when `addBOS`, append EOS when `addEOS`.
    ///   - parseSpecial: recognise control tokens spelled in the text (`<|im_start|>` becomes one
    ///     token); when false they are encoded as plain text. User-defined tokens are recognised
    ///     either way, as in llama.cpp.
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial && addBOS, let bosToken { out.append(bosToken) }
        var text = text
        text.withUTF8 { bytes in
            var split = PreTokenizer.Scratch()
            var words: [Range<Int>] = []
            var workspace = MergeTable.Workspace()
            for fragment in partition(bytes, parseSpecial: parseSpecial) {
                switch fragment {
                case let .token(id):
                    out.append(id)
                case let .text(range):
                    words.removeAll(keepingCapacity: true)
                    preTokenizer.wordRanges(bytes, range, into: &words, scratch: &split)
                    for word in words {
                        bpe.encode(word: UnsafeBufferPointer(rebasing: bytes[word]), into: &out, workspace: &workspace)
                    }
                }
            }
        }
        if addSpecial && addEOS, let eosToken { out.append(eosToken) }
        return out
    }

    // MARK: - Special tokens

    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// llama.cpp's `tokenizer_st_partition`: for each special token, longest first, every
    /// occurrence in the still-unclaimed text (leftmost first, without overlaps) becomes that token.
    func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        // Most texts contain no special token at all; a token whose first byte is absent is skipped.
        var present = [Bool](repeating: false, count: 256)
        for b in bytes { present[Int(b)] = true }
        for special in specialTokens where present[Int(special.bytes[0])] && (parseSpecial || !special.needsParseSpecial) {
            var split: [Fragment]?
            for (index, fragment) in fragments.enumerated() {
                guard case let .text(range) = fragment,
                      var match = Self.find(special.bytes, in: bytes, range) else {
                    split?.append(fragment)
                    continue
                }
                if split == nil { split = Array(fragments[..<index]) }
                var start = range.lowerBound
                while true {
                    if match > start { split!.append(.text(start..<match)) }
                    split!.append(.token(special.id))
                    start = match + special.bytes.count
                    guard start < range.upperBound, let next = Self.find(special.bytes, in: bytes, start..<range.upperBound) else { break }
                    match = next
                }
                if start < range.upperBound { split!.append(.text(start..<range.upperBound)) }
            }
            if let split { fragments = split }
        }
        return fragments
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        let count = needle.count
        guard range.count >= count else { return nil }
        return needle.withUnsafeBufferPointer { n in
            let first = n[0]
            var i = range.lowerBound
            let last = range.upperBound - count
            while i <= last {
                if haystack[i] == first {
                    var j = 1
                    while j < count && haystack[i + j] == n[j] { j += 1 }
                    if j == count { return i }
                }
                i += 1
            }
            return nil
        }
    }
}
