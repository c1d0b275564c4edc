/// Prompts' keys and values kept across documents, so a prompt that starts with the tokens of an
/// earlier one (SQuAD's ~10 questions per paragraph, AGIEval's shared passages, identical few-shot
/// blocks) computes only its own tail.
///
/// An entry is one earlier prompt prefilled in full along one layer path: its tokens, that path,
/// and the keys and values of every path position. A new prompt along the same path reuses the
/// first `p` positions of the entry with the longest common token prefix; its remaining rows are
/// computed in one batch against those keys and values.
///
/// A prompt whose path a router decides (a routed run) keys the cache on (token prefix, path
/// prefix): its entry also keeps every row's hidden state entering each path position, which is
/// what a decision reads, and a later prompt reuses the shared rows for as long as its own
/// decisions choose the entry's blocks (see `TransformerModel.prefillDecided`).
///
/// Exactness: a reused row must be bit for bit the row the prompt's own full prefill would have
/// computed. Every row is computed from its own token and the rows before it, so in exact arithmetic
/// that holds; in floating point it holds only where OpenBLAS computes a row the same way in the
/// entry's sgemm calls (shaped by the entry's length), in the prompt's full calls and in the tail's
/// calls. OpenBLAS picks its kernel and its split of the reduction dimension by call shape (for
/// attention, past a few hundred positions the reduction over positions is split differently for
/// different lengths; small calls take a separate kernel). So the engine never assumes it: a
/// reuse happens only after `PrefixReuseProbe` has run those exact call shapes on probe data and
/// found the rows identical (see `TransformerModel.prefillPrompt`). Records are therefore the same
/// with the cache as without it; only the time changes.
///
/// Not thread-safe: owned by one `TransformerModel`, used by its (single) caller.
public final class PrefixCache {
    /// How much of the prompts the cache served.
    public struct Statistics: Sendable, Equatable, Codable {
        /// Prompt tokens prefilled (the cache's candidates), whether reused or computed.
        public var promptTokens = 0
        /// Prompt tokens whose keys and values came from the cache. A routed prompt whose path parts
        /// from its entry's counts its shared tokens in proportion to the path positions served.
        public var reusedTokens = 0
        /// Prompts prefilled.
        public var prompts = 0
        /// Prompts that reused a prefix.
        public var hits = 0
        /// Shared prefixes shortened or declined because the probe found the calls' rows differ.
        public var probeRefusals = 0

        public init() {}

        /// Share of prompt tokens served from the cache (0 when nothing was prefilled).
        public var reusedShare: Double { promptTokens == 0 ? 0 : Double(reusedTokens) / Double(promptTokens) }

        /// What happened between `earlier` and this snapshot.
        public func since(_ earlier: Statistics) -> Statistics {
            var s = Statistics()
            s.promptTokens = promptTokens - earlier.promptTokens
            s.reusedTokens = reusedTokens - earlier.reusedTokens
            s.prompts = prompts - earlier.prompts
            s.hits = hits - earlier.hits
            s.probeRefusals = probeRefusals - earlier.probeRefusals
            return s
        }
    }

    /// One prompt's keys and values along one path: slot s holds `length × kvWidth` floats each.
    final class Entry {
        let tokens: [Int32]
        let blocks: [Int]
        let keys: [UnsafeMutablePointer<Float>]
        let values: [UnsafeMutablePointer<Float>]
        /// For a decided path: the hidden states of the prompt's rows entering each path position,
        /// then after the last (`blocks.count + 1` arrays of `length × width` floats). Empty for a
        /// fixed path, whose prompts need no decision.
        let hidden: [UnsafeMutablePointer<Float>]
        let bytes: Int
        var lastUse: UInt64

        /// Takes ownership of `hidden` (each `tokens.count × hiddenWidth` floats).
        init(tokens: [Int32], blocks: [Int], kvWidth: Int, hidden: [UnsafeMutablePointer<Float>], hiddenWidth: Int,
             lastUse: UInt64) {
            self.tokens = tokens
            self.blocks = blocks
            let count = tokens.count * kvWidth
            keys = blocks.map { _ in .allocate(capacity: count) }
            values = blocks.map { _ in .allocate(capacity: count) }
            self.hidden = hidden
            bytes = Self.bytes(tokens: tokens.count, slots: blocks.count, kvWidth: kvWidth,
                               hiddenStates: hidden.count, hiddenWidth: hiddenWidth)
            self.lastUse = lastUse
        }

        static func bytes(tokens: Int, slots: Int, kvWidth: Int, hiddenStates: Int, hiddenWidth: Int) -> Int {
            (2 * slots * kvWidth + hiddenStates * hiddenWidth) * tokens * MemoryLayout<Float>.size
        }

        var length: Int { tokens.count }
        /// Whether this entry can serve a prompt whose path is decided as it is prefilled.
        var keepsHiddenStates: Bool { !hidden.isEmpty }

        deinit {
            for p in keys { p.deallocate() }
            for p in values { p.deallocate() }
            for p in hidden { p.deallocate() }
        }
    }

    /// The most memory entries may hold; the least recently used go first.
    public let capacityBytes: Int
    /// Shorter shared prefixes are not worth a lookup's copying.
    public let minimumSharedTokens: Int
    public private(set) var statistics = Statistics()

    private var entries: [Entry] = []
    private var bytes = 0
    private var clock: UInt64 = 0

    /// - Parameters:
    ///   - capacityBytes: memory for entries (default 1 GiB: ~45 SQuAD paragraphs of SmolLM2).
    ///   - minimumSharedTokens: the shortest prefix worth reusing.
    public init(capacityBytes: Int = 1 << 30, minimumSharedTokens: Int = 16) {
        self.capacityBytes = capacityBytes
        self.minimumSharedTokens = minimumSharedTokens
    }

    /// Bytes the entries hold now.
    public var storedBytes: Int { bytes }

    /// The entry along `blocks` sharing the longest token prefix with `tokens`, and that length
    /// (at most `limit`), when it reaches `minimumSharedTokens`.
    func longestMatch(_ tokens: [Int32], blocks: [Int], limit: Int) -> (entry: Entry, shared: Int)? {
        longestMatch(tokens, limit: limit) { $0.blocks == blocks }
    }

    /// The entry, among those that keep hidden states (a decided path's, any path), sharing the
    /// longest token prefix with `tokens`, and that length (at most `limit`), when it reaches
    /// `minimumSharedTokens`.
    func longestMatchKeepingHiddenStates(_ tokens: [Int32], limit: Int) -> (entry: Entry, shared: Int)? {
        longestMatch(tokens, limit: limit) { $0.keepsHiddenStates }
    }

    private func longestMatch(_ tokens: [Int32], limit: Int, where eligible: (Entry) -> Bool) -> (entry: Entry, shared: Int)? {
        var best: (Entry, Int)?
        for e in entries where eligible(e) {
            let n = min(limit, e.length)
            var i = 0
            while i < n && e.tokens[i] == tokens[i] { i += 1 }
            if i >= minimumSharedTokens && i > (best?.1 ?? 0) { best = (e, i) }
        }
        guard let best else { return nil }
        clock += 1
        best.0.lastUse = clock
        return best
    }

    /// A new entry for `tokens` along `blocks` (the caller fills its keys and values), after
    /// evicting the least recently used entries it needs room for; nil when it alone exceeds
    /// the capacity. Takes ownership of `hidden` (see `Entry.hidden`), freed when no entry is made.
    func makeEntry(tokens: [Int32], blocks: [Int], kvWidth: Int, hidden: [UnsafeMutablePointer<Float>] = [],
                   hiddenWidth: Int = 0) -> Entry? {
        let need = Entry.bytes(tokens: tokens.count, slots: blocks.count, kvWidth: kvWidth,
                               hiddenStates: hidden.count, hiddenWidth: hiddenWidth)
        guard need <= capacityBytes else {
            for p in hidden { p.deallocate() }
            return nil
        }
        // An entry for the same tokens and path is replaced, never duplicated.
        entries.removeAll { e in
            let same = e.blocks == blocks && e.tokens == tokens
            if same { bytes -= e.bytes }
            return same
        }
        while bytes + need > capacityBytes, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
            bytes -= entries[oldest].bytes
            entries.remove(at: oldest)
        }
        clock += 1
        let e = Entry(tokens: tokens, blocks: blocks, kvWidth: kvWidth, hidden: hidden, hiddenWidth: hiddenWidth,
                      lastUse: clock)
        entries.append(e)
        bytes += e.bytes
        return e
    }

    /// Drops every entry (the statistics stay).
    public func removeAll() {
        entries.removeAll()
        bytes = 0
    }

    /// Counts one prefilled prompt of `tokens`, `reused` of them from the cache.
    func count(prompt tokens: Int, reused: Int) {
        statistics.prompts += 1
        statistics.promptTokens += tokens
        if reused > 0 {
            statistics.hits += 1
            statistics.reusedTokens += reused
        }
    }

    func countProbeRefusal() { statistics.probeRefusals += 1 }
}

/// A model that keeps a `PrefixCache` (the runner reports what it served per task).
public protocol PrefixCachingModel: AnyObject {
    var prefixCache: PrefixCache? { get }
}

extension TransformerModel: PrefixCachingModel {}
