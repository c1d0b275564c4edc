/// Keys and values of one sequence, one slot per *position in the layer path* (a repeated block
/// has two slots), each holding `capacity` tokens of `kvWidth` floats.
final class KVCache {
    let capacity: Int
    let kvWidth: Int
    private(set) var keys: [UnsafeMutablePointer<Float>] = []
    private(set) var values: [UnsafeMutablePointer<Float>] = []

    init(capacity: Int, kvWidth: Int) {
        self.capacity = capacity
        self.kvWidth = kvWidth
    }

    /// The (keys, values) buffers of path position `slot`, allocated on first use.
    func slot(_ slot: Int) -> (keys: UnsafeMutablePointer<Float>, values: UnsafeMutablePointer<Float>) {
        while keys.count <= slot {
            keys.append(.allocate(capacity: capacity * kvWidth))
            values.append(.allocate(capacity: capacity * kvWidth))
        }
        return (keys[slot], values[slot])
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
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
