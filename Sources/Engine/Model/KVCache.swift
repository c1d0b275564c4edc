/// One path position's cache: keys and values row-major (`position × kvWidth`, what prefill's
/// sgemm reads), and the keys again in blocks of `KVCache.positionsPerBlock` positions, each key
/// component holding the block's positions contiguously (what decode attention reads: one head's
/// scores for a block are then vector operations over positions, with no horizontal sums).
struct KVSlot {
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    /// Block b starts at `b * kvWidth * positionsPerBlock`; component c of position
    /// `b * positionsPerBlock + i` is at `c * positionsPerBlock + i` within it.
    let keyBlocks: UnsafeMutablePointer<Float>

    /// Stores the key and value of `position` (`kvWidth` floats each) in every layout.
    @inline(__always)
    func store(position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, kvWidth kv: Int) {
        (keys + position * kv).update(from: key, count: kv)
        (values + position * kv).update(from: value, count: kv)
        let n = KVCache.positionsPerBlock
        let block = keyBlocks + (position / n) * kv * n + position % n
        for c in 0..<kv { block[c * n] = key[c] }
    }
}

/// Keys and values of one sequence, one slot per *position in the layer path* (a repeated block
/// has two slots), each holding `capacity` tokens of `kvWidth` floats.
final class KVCache {
    /// Positions per block of the blocked key layout: one 16-lane vector.
    static let positionsPerBlock = 16
    let capacity: Int
    let kvWidth: Int
    private var slots: [KVSlot] = []

    init(capacity: Int, kvWidth: Int) {
        self.capacity = capacity
        self.kvWidth = kvWidth
    }

    /// The buffers of path position `slot`, allocated on first use.
    func slot(_ slot: Int) -> KVSlot {
        while slots.count <= slot {
            let n = Self.positionsPerBlock
            let blocks = (capacity + n - 1) / n
            slots.append(KVSlot(keys: .allocate(capacity: capacity * kvWidth),
                                values: .allocate(capacity: capacity * kvWidth),
                                keyBlocks: .allocate(capacity: blocks * n * kvWidth)))
        }
        return slots[slot]
    }

    deinit {
        for s in slots {
            s.keys.deallocate()
            s.values.deallocate()
            s.keyBlocks.deallocate()
        }
    }
}

/// The state of one sequence being processed: its cache, how many tokens it holds and the
/// layer path it follows (decided at its first prefill when routed).
final class SequenceState {
    let cache: KVCache
    var length = 0
    var path: LayerPath?

    init(capacity: Int, kvWidth: Int) {
        cache = KVCache(capacity: capacity, kvWidth: kvWidth)
    }
}

/// Growable scratch buffers, reused across calls so decode allocates nothing per token.
final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var sizes: [Int] = []

    /// Scratch buffer number `index` with room for at least `count` floats (contents undefined).
    func buffer(_ index: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= index {
            buffers.append(.allocate(capacity: 1))
            sizes.append(1)
        }
        if sizes[index] < count {
            buffers[index].deallocate()
            let size = max(count, sizes[index] * 2)
            buffers[index] = .allocate(capacity: size)
            sizes[index] = size
        }
        return buffers[index]
    }

    deinit { for b in buffers { b.deallocate() } }
}
