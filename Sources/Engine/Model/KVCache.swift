/// One path position's cache: keys and values row-major (`position × kvWidth`, what prefill's
/// sgemm reads), and the keys again in blocks of `KVCache.positionsPerBlock` positions, each key
/// component holding the block's positions contiguously (what decode attention reads: one head's
/// scores for a block are then vector operations over positions, with no horizontal sums).
///
/// The blocks are stored head by head: all of key/value head 0's blocks, then head 1's. Decode
/// attention reads one head's blocks from the first position to the last, so that read is one
/// sequential stream; with the heads interleaved block by block it skipped every other 4 KB (one
/// page at head size 64), and the hardware prefetchers, which stop at page boundaries, started
/// cold on every block (with reading each block in memory order, this made decode attention at
/// 32k positions 1.2× faster, `reports/speed.md`).
struct KVSlot {
    let keys: UnsafeMutablePointer<Float>
    let values: UnsafeMutablePointer<Float>
    /// Head h's block b starts at `h * headBlockStride + b * blockStride`; component c (of the
    /// head's `headDimension`) of position `b * positionsPerBlock + i` is at
    /// `c * positionsPerBlock + i` within it.
    let keyBlocks: UnsafeMutablePointer<Float>
    let headDimension: Int
    /// Floats from one head's blocks to the next's.
    let headBlockStride: Int

    /// Floats from one block of a head to its next (`headDimension × positionsPerBlock`).
    var blockStride: Int { headDimension * KVCache.positionsPerBlock }

    /// The first block of key/value head `head`.
    func keyBlocks(head: Int) -> UnsafeMutablePointer<Float> { keyBlocks + head * headBlockStride }

    /// Stores the key and value of `position` (`kvWidth` floats each) in every layout.
    @inline(__always)
    func store(position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>, kvWidth kv: Int) {
        (keys + position * kv).update(from: key, count: kv)
        (values + position * kv).update(from: value, count: kv)
        storeBlocked(position: position, key: key, kvWidth: kv)
    }

    /// Stores positions `0..<count` from row-major `keys` and `values` (`count × kvWidth` each) in
    /// every layout, as `store` would one by one.
    func storePrefix(keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, count: Int, kvWidth kv: Int) {
        keys.update(from: k, count: count * kv)
        values.update(from: v, count: count * kv)
        for position in 0..<count { storeBlocked(position: position, key: k + position * kv, kvWidth: kv) }
    }

    @inline(__always)
    private func storeBlocked(position: Int, key: UnsafePointer<Float>, kvWidth kv: Int) {
        let n = KVCache.positionsPerBlock, hd = headDimension
        let offset = (position / n) * blockStride + position % n
        for h in 0..<kv / hd {
            let block = keyBlocks + h * headBlockStride + offset, head = key + h * hd
            for c in 0..<hd { block[c * n] = head[c] }
        }
    }
}

/// Keys and values of one sequence, one slot per *position in the layer path* (a repeated block
/// has two slots), each holding `capacity` tokens of `kvWidth` floats (`kvWidth / headDimension`
/// key/value heads).
final class KVCache {
    /// Positions per block of the blocked key layout: one 16-lane vector.
    static let positionsPerBlock = 16
    let capacity: Int
    let kvWidth: Int
    let headDimension: Int
    private var slots: [KVSlot] = []

    init(capacity: Int, kvWidth: Int, headDimension: Int) {
        precondition(headDimension > 0 && kvWidth % headDimension == 0, "kvWidth \(kvWidth) is not whole heads of \(headDimension)")
        self.capacity = capacity
        self.kvWidth = kvWidth
        self.headDimension = headDimension
    }

    /// The buffers of path position `slot`, allocated on first use.
    func slot(_ slot: Int) -> KVSlot {
        while slots.count <= slot {
            let n = Self.positionsPerBlock
            let blocks = (capacity + n - 1) / n
            slots.append(KVSlot(keys: .allocate(capacity: capacity * kvWidth),
                                values: .allocate(capacity: capacity * kvWidth),
                                keyBlocks: .allocate(capacity: blocks * n * kvWidth),
                                headDimension: headDimension, headBlockStride: blocks * n * headDimension))
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

    init(capacity: Int, kvWidth: Int, headDimension: Int) {
        cache = KVCache(capacity: capacity, kvWidth: kvWidth, headDimension: headDimension)
    }
}

/// The model's named scratch buffers. Buffers whose lifetimes never overlap share storage.
enum ScratchBuffer {
    /// A block's normalised input (attention, then feed-forward).
    case normed
    /// Q, K, V projections of a block.
    case query, key, value
    /// Attention output, before the output projection.
    case attentionOutput
    /// Output of a block's projections, added to the residual stream.
    case blockOutput
    /// Prefill's stacked [Q; K; V] product (dead before the feed-forward part starts).
    case stackedQKV
    /// Feed-forward gate (and SwiGLU result); shares storage with `stackedQKV`.
    case gate
    /// Feed-forward up projection (decode).
    case up
    /// Prefill's stacked [gate; up] product; shares storage with `up`.
    case stackedGateUp
    /// Rows of a decode step gathered for a block not every sequence needs.
    case gathered
    /// Final hidden states after the output norm.
    case outputNormed
    /// The residual stream of a forward pass (owned by the caller of `forward`).
    case hidden
    /// Logits of the rows being scored or decoded.
    case logits
    /// Attention scores of one worker thread.
    case scores(thread: Int)

    /// The storage slot.
    var storage: Int {
        switch self {
        case .normed: return 0
        case .query: return 1
        case .key: return 2
        case .value: return 3
        case .attentionOutput: return 4
        case .blockOutput: return 5
        case .stackedQKV, .gate: return 6
        case .up, .stackedGateUp: return 7
        case .gathered: return 8
        case .outputNormed: return 9
        case .hidden: return 10
        case .logits: return 11
        case let .scores(thread): return 12 + thread
        }
    }
}

/// Growable scratch buffers, reused across calls so decode allocates nothing per token (one
/// caller at a time, like the model).
final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var sizes: [Int] = []

    /// The scratch buffer `name` with room for at least `count` floats (contents undefined).
    func buffer(_ name: ScratchBuffer, _ count: Int) -> UnsafeMutablePointer<Float> {
        let index = name.storage
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
