extension TransformerModel {
    /// Prefills a prompt into a new, empty sequence, taking the keys and values of a shared
    /// prefix from `prefixCache` where that gives exactly the rows a full prefill would (see
    /// `PrefixCache`); returns the path used.
    ///
    /// Leaves the final hidden state of row t at `x + t * width` for every row it computed; rows
    /// served from the cache are not computed (callers read only the last row). Sequences with a
    /// fixed path (baseline, `--path`) reuse an entry of the same path; a path chosen by `decider`
    /// reuses an entry for as long as its decisions follow the entry's (`prefillDecided`).
    @discardableResult
    func prefillPrompt(_ ids: [Int32], sequence: SequenceState, decider: (any PathDecider)?,
                       x: UnsafeMutablePointer<Float>) -> LayerPath {
        guard let cache = prefixCache, sequence.length == 0, ids.count > quantizedRowLimit else {
            return forward(ids[...], sequence: sequence, decider: decider, x: x)
        }
        guard let path = sequence.path else {
            guard let decider else { return forward(ids[...], sequence: sequence, decider: nil, x: x) }
            return prefillDecided(ids, sequence: sequence, decider: decider, x: x, cache: cache)
        }
        let length = ids.count, kv = configuration.kvWidth, d = configuration.width
        var reused = 0
        if let (entry, shared) = cache.longestMatch(ids, blocks: path.blocks, limit: longestShare(length)) {
            reused = probedShare(of: entry, shared: shared, promptLength: length, cache: cache)
            if reused > 0 {
                for slot in 0..<path.count {
                    sequence.cache.slot(slot).storePrefix(keys: entry.keys[slot], values: entry.values[slot],
                                                          count: reused, kvWidth: kv)
                }
                sequence.length = reused
                forward(ids[reused...], sequence: sequence, decider: nil, x: x + reused * d)
            }
        }
        if reused == 0 {
            forward(ids[...], sequence: sequence, decider: nil, x: x)
            // Only whole prefills become entries: every row of an entry then comes from one call shape.
            storeEntry(ids, sequence: sequence, hidden: [], cache: cache)
        }
        cache.count(prompt: length, reused: reused)
        return path
    }

    /// Prefills a prompt whose path `decider` chooses block by block, reusing the rows of a shared
    /// prefix for as long as the blocks it chooses are the entry's.
    ///
    /// A decision reads the hidden states of every prompt row entering a block, so an entry of a
    /// decided path also keeps its rows' hidden states entering each path position. While the
    /// blocks chosen so far are the entry's, the shared rows' hidden states, keys and values are
    /// the entry's, bit for bit the rows a full prefill would compute (the probe that guards fixed
    /// paths checks the same call shapes), so the decider sees exactly what it would see without
    /// the cache, and only the tail rows are computed. From the first block where the paths part,
    /// every row is computed in the whole prompt's call shapes, as the full prefill computes them.
    private func prefillDecided(_ ids: [Int32], sequence: SequenceState, decider: any PathDecider,
                                x: UnsafeMutablePointer<Float>, cache: PrefixCache) -> LayerPath {
        let length = ids.count, kv = configuration.kvWidth, d = configuration.width
        var share: (entry: PrefixCache.Entry, rows: Int)?
        if let (entry, shared) = cache.longestMatchKeepingHiddenStates(ids, limit: longestShare(length)) {
            let rows = probedShare(of: entry, shared: shared, promptLength: length, cache: cache)
            if rows > 0 { share = (entry, rows) }
        }
        let rows = (0..<length).map { Row(sequence: sequence, position: $0) }
        let tailRows = Array(rows[(share?.rows ?? length)...])
        embed(ids[...], into: x)
        var blocks: [Int] = []
        // Whole prefills become entries: every row's hidden state entering each path position.
        var recorded: [UnsafeMutablePointer<Float>] = []
        func record() {
            guard share == nil else { return }
            let h = UnsafeMutablePointer<Float>.allocate(capacity: length * d)
            h.update(from: x, count: length * d)
            recorded.append(h)
        }
        var following = share != nil   // the blocks so far are the entry's first ones
        var servedSlots = 0
        for layer in 0..<configuration.layerCount {
            // The shared rows enter this layer as the entry's did (its path so far is ours).
            if following, let (entry, p) = share { x.update(from: entry.hidden[blocks.count], count: p * d) }
            for _ in 0..<applications(ofLayer: layer, decidedBy: decider, hidden: x, tokens: length) {
                let slot = blocks.count
                if following, let (entry, p) = share, slot < entry.blocks.count, entry.blocks[slot] == layer {
                    sequence.cache.slot(slot).storePrefix(keys: entry.keys[slot], values: entry.values[slot],
                                                          count: p, kvWidth: kv)
                    applyBlock(layer, slot: slot, x: x + p * d, rows: tailRows)
                    servedSlots += 1
                } else {
                    if following, let (entry, p) = share {
                        x.update(from: entry.hidden[slot], count: p * d)
                        following = false
                    }
                    record()
                    applyBlock(layer, slot: slot, x: x, rows: rows)
                }
                blocks.append(layer)
            }
        }
        sequence.path = LayerPath(blocks)
        sequence.length = length
        if let (_, p) = share {
            cache.count(prompt: length, reused: blocks.isEmpty ? 0 : p * servedSlots / blocks.count)
        } else {
            record()
            storeEntry(ids, sequence: sequence, hidden: recorded, cache: cache)
            cache.count(prompt: length, reused: 0)
        }
        return sequence.path!
    }

    /// The longest share a prompt of `length` tokens may reuse: its computed tail keeps more than
    /// `quantizedRowLimit` rows, so it runs through the same (sgemm) kernels as the whole prompt.
    private func longestShare(_ length: Int) -> Int { length - (quantizedRowLimit + 1) }

    /// How many of the `shared` leading rows of `entry` a prompt of `promptLength` may reuse: the
    /// longest share (`shared`, then ×3/4 at a time) for which `callShapeProbe` finds every call
    /// shape involved computing the rows identically; 0 for none.
    private func probedShare(of entry: PrefixCache.Entry, shared: Int, promptLength length: Int, cache: PrefixCache) -> Int {
        // Shorter shares may pass where a longer one does not (past a few hundred positions
        // OpenBLAS splits attention's reduction at length-dependent points). A prompt the cache
        // can serve less than half of is prefilled whole instead and becomes an entry itself:
        // the prompts after it that share more of it then reuse more.
        var candidate = shared, allowed = 0
        while candidate >= cache.minimumSharedTokens && candidate * 2 >= length {
            if callShapeProbe.allowsReuse(entryLength: entry.length, promptLength: length, shared: candidate) {
                allowed = candidate
                break
            }
            candidate = candidate * 3 / 4
        }
        if allowed < shared && shared * 2 >= length { cache.countProbeRefusal() }
        return allowed
    }

    /// Keeps a whole prefill of `ids` (its path's keys and values, and `hidden`, whose ownership
    /// passes to the cache) as an entry.
    private func storeEntry(_ ids: [Int32], sequence: SequenceState, hidden: [UnsafeMutablePointer<Float>],
                            cache: PrefixCache) {
        let path = sequence.path!, count = ids.count * configuration.kvWidth
        guard let entry = cache.makeEntry(tokens: ids, blocks: path.blocks, kvWidth: configuration.kvWidth,
                                          hidden: hidden, hiddenWidth: configuration.width) else { return }
        for slot in 0..<path.count {
            let s = sequence.cache.slot(slot)
            entry.keys[slot].update(from: s.keys, count: count)
            entry.values[slot].update(from: s.values, count: count)
        }
    }
}
