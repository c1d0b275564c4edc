extension TransformerModel {
    /// Rows of one sequence run along a layer path: positions `firstPosition..<firstPosition + rows`,
    /// their hidden states at `hidden` (`rows × width`, updated in place), path positions from
    /// `nextSlot` on still to apply.
    struct PathRun {
        let sequence: SequenceState
        let blocks: [Int]
        var nextSlot: Int
        let firstPosition: Int
        let rows: Int
        let hidden: UnsafeMutablePointer<Float>
    }

    /// Applies the rest of every run's path, the runs of a block together: always the smallest
    /// block some run needs next, for every run that needs it (the order `decodeStep` uses), the
    /// runs as segments of one `applyBlock` call, so each row is computed as its run alone would
    /// compute it (see `rowGroups`). Runs must be of distinct sequences. `computed(i, slot)` is
    /// called after run `i`'s path position `slot` is applied.
    func forward(_ runs: [PathRun], computed: (_ run: Int, _ slot: Int) -> Void) {
        let d = configuration.width
        var next = runs.map(\.nextSlot)
        while true {
            let waiting = runs.indices.filter { next[$0] < runs[$0].blocks.count }
            guard let block = waiting.map({ runs[$0].blocks[next[$0]] }).min() else { break }
            // Short runs first: adjacent, they share the quantised kernels' calls.
            let needing = waiting.filter { runs[$0].blocks[next[$0]] == block }
            let members = needing.filter { runs[$0].rows <= quantizedRowLimit } + needing.filter { runs[$0].rows > quantizedRowLimit }
            var rows: [Row] = [], slots: [Int] = [], segments: [Range<Int>] = []
            for i in members {
                let r = runs[i]
                segments.append(rows.count..<(rows.count + r.rows))
                rows += (0..<r.rows).map { Row(sequence: r.sequence, position: r.firstPosition + $0) }
                slots += Array(repeating: next[i], count: r.rows)
            }
            if members.count == 1 {
                applyBlock(block, slots: slots, x: runs[members[0]].hidden, rows: rows)
            } else {
                let gathered = workspace.buffer(.gathered, rows.count * d)
                for (i, s) in zip(members, segments) { (gathered + s.lowerBound * d).update(from: runs[i].hidden, count: s.count * d) }
                applyBlock(block, slots: slots, x: gathered, rows: rows, segments: segments)
                for (i, s) in zip(members, segments) { runs[i].hidden.update(from: gathered + s.lowerBound * d, count: s.count * d) }
            }
            for i in members {
                computed(i, next[i])
                next[i] += 1
            }
        }
        for r in runs { r.sequence.length = r.firstPosition + r.rows }
    }

    /// Logits of hidden rows grouped in `segments` (contiguous, in order, covering the rows), each
    /// segment's rows as `logits(_:rows:into:)` of that segment alone gives them: short segments
    /// share quantised calls, long ones run alone.
    func logits(_ x: UnsafeMutablePointer<Float>, segments: [Range<Int>], into out: UnsafeMutablePointer<Float>) {
        guard let n = segments.last?.upperBound else { return }
        let d = configuration.width, vocab = configuration.vocabularySize
        let h = workspace.buffer(.outputNormed, n * d)
        Kernels.rmsNorm(x, weights.outputNorm, h, rows: n, width: d, epsilon: configuration.rmsEpsilon)
        var i = 0
        while i < segments.count {
            if segments[i].count > quantizedRowLimit {
                let s = segments[i]
                linear(weights.outputHead, h + s.lowerBound * d, rows: s.count, out + s.lowerBound * vocab, quantized: false)
                i += 1
                continue
            }
            var j = i
            while j + 1 < segments.count, segments[j + 1].count <= quantizedRowLimit { j += 1 }
            let run = segments[i].lowerBound..<segments[j].upperBound
            linear(weights.outputHead, h + run.lowerBound * d, rows: run.count, out + run.lowerBound * vocab, quantized: true)
            i = j + 1
        }
    }
}
