extension TransformerModel {
    /// Prefills a prompt into a new, empty sequence, taking the keys and values of a shared
    /// prefix from `prefixCache` where that gives exactly the rows a full prefill would (see
    /// `PrefixCache`); returns the path used.
    ///
    /// Leaves the final hidden state of row t at `x + t * width` for every row it computed; rows
    /// served from the cache are not computed (callers read only the last row). The cache serves
    /// sequences with a fixed path (baseline, `--path`); a decided path is chosen from the hidden
    /// states of the whole prompt, which the cache does not keep, so those prefill in full.
    @discardableResult
    func prefillPrompt(_ ids: [Int32], sequence: SequenceState, decider: (any PathDecider)?,
                       x: UnsafeMutablePointer<Float>) -> LayerPath {
        guard let cache = prefixCache, decider == nil, let path = sequence.path, sequence.length == 0,
              ids.count > quantizedRowLimit else {
            return forward(ids[...], sequence: sequence, decider: decider, x: x)
        }
        let length = ids.count, kv = configuration.kvWidth, d = configuration.width
        // The computed tail keeps more than `quantizedRowLimit` rows, so it runs through the same
        // (sgemm) kernels as the whole prompt would.
        let longestShare = length - (quantizedRowLimit + 1)
        var reused = 0
        if let (entry, shared) = cache.longestMatch(ids, blocks: path.blocks, limit: longestShare) {
            let probe = callShapeProbe
            // Shorter shares may pass where a longer one does not (past a few hundred positions
            // OpenBLAS splits attention's reduction at length-dependent points). A prompt the cache
            // can serve less than half of is prefilled whole instead and becomes an entry itself:
            // the prompts after it that share more of it then reuse more.
            var candidate = shared
            while candidate >= cache.minimumSharedTokens && candidate * 2 >= length {
                if probe.allowsReuse(entryLength: entry.length, promptLength: length, shared: candidate) {
                    reused = candidate
                    break
                }
                candidate = candidate * 3 / 4
            }
            if reused < shared && shared * 2 >= length { cache.countProbeRefusal() }
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
            if let entry = cache.makeEntry(tokens: ids, blocks: path.blocks, kvWidth: kv) {
                for slot in 0..<path.count {
                    let s = sequence.cache.slot(slot)
                    entry.keys[slot].update(from: s.keys, count: length * kv)
                    entry.values[slot].update(from: s.values, count: length * kv)
                }
            }
        }
        cache.count(prompt: length, reused: reused)
        return path
    }
}
