/// The BPE merge rules, keyed by small integers instead of strings, and the merge loop itself.
///
/// Every byte string that a merge can involve (the 256 single bytes, both sides of every rule and
/// every rule's result) gets a symbol number, so that looking up a pair is one integer hash and
/// merging a pair is one table read, with no string building in the hot loop. Because symbol
/// numbers are canonical per byte string, "the pair is still the one that was queued" is an
/// integer comparison (llama.cpp compares the concatenated strings).
struct MergeTable: Sendable {
    /// Symbol of each single byte.
    let byteSymbol: [Int32]
    /// Vocabulary id of each symbol's bytes, or -1 when they are not a token.
    let symbolToken: [Int32]
    /// Token used for a byte of a symbol that is not itself a token, or -1 to drop the byte.
    ///
    /// llama.cpp looks up each *UTF-8 byte of the byte-level spelling* on its own, so only the
    /// bytes spelled by one ASCII character ("!" to "~") can be found; all others are dropped.
    let fallbackToken: [Int32]
    /// The rules, in an open-addressing hash table keyed by symbol pair.
    let pairs: PairTable
    /// Vocabulary id of each token's bytes; only kept for pre-tokenizers that emit whole-token
    /// words without merging (llama.cpp's `ignore_merges`, Llama 3).
    let wholeWordToken: [[UInt8]: Int32]?

    init(texts: [String], merges rules: [String], keepWholeWords: Bool) {
        var tokenOfBytes: [[UInt8]: Int32] = [:]
        tokenOfBytes.reserveCapacity(texts.count)
        for (id, text) in texts.enumerated() {
            // Spellings with scalars outside the byte mapping can never come out of encoding.
            if let bytes = ByteLevel.bytes(of: text), tokenOfBytes[bytes] == nil { tokenOfBytes[bytes] = Int32(id) }
        }

        var symbolOfBytes: [[UInt8]: Int32] = [:]
        var symbolBytes: [[UInt8]] = []
        func symbol(_ bytes: [UInt8]) -> Int32 {
            if let s = symbolOfBytes[bytes] { return s }
            let s = Int32(symbolBytes.count)
            symbolOfBytes[bytes] = s
            symbolBytes.append(bytes)
            return s
        }
        let byteSymbol = (0..<256).map { symbol([UInt8($0)]) }

        var pairs = PairTable(capacity: rules.count)
        for (rank, rule) in rules.enumerated() {
            // llama.cpp splits at the first space after the first byte; a rule without one (or with
            // an empty side) pairs strings that no word can contain.
            let utf8 = Array(rule.utf8)
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20) else { continue }
            guard let left = ByteLevel.bytes(of: String(decoding: utf8[..<space], as: UTF8.self)),
                  let right = ByteLevel.bytes(of: String(decoding: utf8[(space + 1)...], as: UTF8.self)),
                  !left.isEmpty, !right.isEmpty else { continue }
            let key = PairTable.key(symbol(left), symbol(right))
            guard pairs.find(key) == nil else { continue }  // the first rule for a pair wins
            pairs.insert(key, rank: Int32(rank), result: symbol(left + right))
        }

        self.byteSymbol = byteSymbol
        self.symbolToken = symbolBytes.map { tokenOfBytes[$0] ?? -1 }
        self.fallbackToken = (0..<256).map { (0x21...0x7E).contains($0) ? tokenOfBytes[[UInt8($0)]] ?? -1 : -1 }
        self.pairs = pairs
        self.wholeWordToken = keepWholeWords ? tokenOfBytes : nil
    }

    // MARK: - Merging

    /// A candidate merge of the symbols starting at `left` and `right`, valid while both still
    /// hold the symbols they held when it was queued.
    struct Bigram {
        /// rank << 32 | left: the queue pops the lowest rank, then the leftmost pair (llama.cpp's order).
        var order: UInt64
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32
        var result: Int32
    }

    /// Per-word working memory, reused across the words of one `encode` call.
    struct Workspace: ~Copyable {
        private(set) var capacity = 0
        /// Per byte of the word: its symbol (-1 once merged into its left neighbour) and links.
        private(set) var symbols = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        private(set) var prev = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        private(set) var next = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        /// Binary min-heap on `Bigram.order`: at most n - 1 initial pairs plus two per merge.
        private(set) var heap = UnsafeMutablePointer<Bigram>.allocate(capacity: 1)

        init() {}

        mutating func reserve(_ n: Int) {
            guard n > capacity else { return }
            deallocateAll()
            capacity = max(n, 2 * capacity, 64)
            symbols = .allocate(capacity: capacity)
            prev = .allocate(capacity: capacity)
            next = .allocate(capacity: capacity)
            heap = .allocate(capacity: 3 * capacity)
        }

        private func deallocateAll() {
            symbols.deallocate()
            prev.deallocate()
            next.deallocate()
            heap.deallocate()
        }

        deinit { deallocateAll() }
    }

    /// llama.cpp's `llm_tokenizer_bpe_session::tokenize` for one word: merge the pair of lowest
    /// rank (leftmost on ties) until none is left, then emit each symbol's token.
    func encode(word: UnsafeBufferPointer<UInt8>, into out: inout [Int32], workspace: inout Workspace) {
        let n = word.count
        if n == 1 {
            let b = Int(word[0])
            let t = symbolToken[Int(byteSymbol[b])]
            if t >= 0 { out.append(t) } else if fallbackToken[b] >= 0 { out.append(fallbackToken[b]) }
            return
        }
        if let whole = wholeWordToken, let t = whole[Array(word)] {
            out.append(t)
            return
        }

        workspace.reserve(n)
        let symbols = workspace.symbols, prev = workspace.prev, next = workspace.next, heap = workspace.heap
        byteSymbol.withUnsafeBufferPointer { byteSymbol in
            for i in 0..<n {
                symbols[i] = byteSymbol[Int(word[i])]
                prev[i] = Int32(i - 1)
                next[i] = i + 1 < n ? Int32(i + 1) : -1
            }
        }
        var queued = 0
        pairs.withLookup { lookup in
            @inline(__always) func enqueue(_ left: Int32, _ right: Int32) {
                guard left >= 0, right >= 0 else { return }
                let ls = symbols[Int(left)], rs = symbols[Int(right)]
                guard let merge = lookup.find(PairTable.key(ls, rs)) else { return }
                Self.push(Bigram(order: UInt64(UInt32(merge.rank)) << 32 | UInt64(UInt32(left)), right: right,
                                 leftSymbol: ls, rightSymbol: rs, result: merge.result), heap, &queued)
            }
            for i in 1..<n { enqueue(Int32(i - 1), Int32(i)) }
            while queued > 0 {
                let bigram = Self.pop(heap, &queued)
                let left = Int(truncatingIfNeeded: bigram.order & 0xFFFF_FFFF), right = Int(bigram.right)
                // Outdated: one side has merged since the pair was queued.
                guard symbols[left] == bigram.leftSymbol, symbols[right] == bigram.rightSymbol else { continue }
                symbols[left] = bigram.result
                symbols[right] = -1
                let after = next[right]
                next[left] = after
                if after >= 0 { prev[Int(after)] = Int32(left) }
                enqueue(prev[left], Int32(left))
                enqueue(Int32(left), after)
            }
        }

        var i = 0
        while i >= 0 {
            let t = symbolToken[Int(symbols[i])]
            if t >= 0 {
                out.append(t)
            } else {
                let end = next[i] >= 0 ? Int(next[i]) : n
                for j in i..<end where fallbackToken[Int(word[j])] >= 0 { out.append(fallbackToken[Int(word[j])]) }
            }
            i = Int(next[i])
        }
    }

    @inline(__always)
    private static func push(_ b: Bigram, _ heap: UnsafeMutablePointer<Bigram>, _ count: inout Int) {
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            guard b.order < heap[parent].order else { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = b
    }

    @inline(__always)
    private static func pop(_ heap: UnsafeMutablePointer<Bigram>, _ count: inout Int) -> Bigram {
        let top = heap[0]
        count -= 1
        let n = count
        guard n > 0 else { return top }
        let last = heap[n]
        var i = 0
        while true {
            var child = 2 * i + 1
            guard child < n else { break }
            if child + 1 < n && heap[child + 1].order < heap[child].order { child += 1 }
            guard heap[child].order < last.order else { break }
            heap[i] = heap[child]
            i = child
        }
        heap[i] = last
        return top
    }
}

/// An open-addressing hash table from symbol pair to merge rule: one multiply per lookup
/// instead of `Hasher`, which dominated the merge loop.
struct PairTable: Sendable {
    struct Merge {
        /// Position of the rule in `tokenizer.ggml.merges`; lower merges first.
        let rank: Int32
        /// Symbol of the merged bytes.
        let result: Int32
    }

    fileprivate struct Entry {
        var key: UInt64
        var rank: Int32
        var result: Int32
    }

    private static let empty = UInt64.max
    private var entries: [Entry]
    private let shift: UInt64
    private let mask: Int

    @inline(__always)
    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// A table for up to `capacity` rules, at most half full.
    init(capacity: Int) {
        var bits = 4
        while (1 << bits) < 2 * max(capacity, 1) { bits += 1 }
        entries = Array(repeating: Entry(key: Self.empty, rank: 0, result: 0), count: 1 << bits)
        shift = UInt64(64 - bits)
        mask = (1 << bits) - 1
    }

    @inline(__always)
    private static func slot(_ key: UInt64, _ shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func find(_ key: UInt64) -> Merge? {
        withLookup { $0.find(key) }
    }

    mutating func insert(_ key: UInt64, rank: Int32, result: Int32) {
        var i = Self.slot(key, shift)
        while entries[i].key != Self.empty { i = (i + 1) & mask }
        entries[i] = Entry(key: key, rank: rank, result: result)
    }

    /// Read access without per-lookup array bookkeeping.
    struct Lookup {
        fileprivate let entries: UnsafeBufferPointer<Entry>
        fileprivate let shift: UInt64
        fileprivate let mask: Int

        @inline(__always)
        func find(_ key: UInt64) -> Merge? {
            var i = PairTable.slot(key, shift)
            while true {
                let e = entries[i]
                if e.key == key { return Merge(rank: e.rank, result: e.result) }
                if e.key == PairTable.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }

    @inline(__always)
    func withLookup<R>(_ body: (Lookup) -> R) -> R {
        entries.withUnsafeBufferPointer { body(Lookup(entries: $0, shift: shift, mask: mask)) }
    }
}
