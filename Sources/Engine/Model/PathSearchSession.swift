/// Greedy generation from one prompt under many layer paths — what MCTS path search needs —
/// reusing the prompt's hidden states and KV caches across paths that share a prefix.
///
/// The hidden states after path positions `0..<k`, and the keys/values those positions wrote,
/// depend only on the first `k` entries of the path. The session keeps a checkpoint for every
/// prefix it computes (up to a memory budget), so evaluating a path only runs the blocks after
/// its longest already-computed prefix. Results are bitwise identical to `generate` with
/// `.fixed(path)`: the same kernels run on the same inputs.
public final class PathSearchSession {
    public let model: TransformerModel
    public let request: GenerationRequest
    /// The prompt's token ids (after lm-eval's left truncation).
    public let promptIds: [Int32]

    /// Prompt block applications actually computed, and those reused from checkpoints.
    public private(set) var blockApplicationsComputed = 0
    public private(set) var blockApplicationsReused = 0

    private struct Checkpoint {
        /// Hidden states after the prefix, `T × d`.
        var hidden: [Float]
        /// Keys and values the prefix's last position wrote for the prompt, `T × kvWidth` each.
        var keys: [Float]
        var values: [Float]
    }
    private var checkpoints: [[Int]: Checkpoint] = [:]
    private var bytesUsed = 0
    private let byteBudget: Int

    /// Prepares a session; `memoryBudget` bounds the checkpoints kept (bytes).
    public init(model: TransformerModel, request: GenerationRequest, memoryBudget: Int = 512 << 20) throws {
        guard !request.context.isEmpty else { throw EngineError.emptyPrompt }
        let encoded = model.encode(request.context)
        try model.checkTokens(encoded)
        let (ids, maxNew) = try model.fitToContext(encoded, maxTokens: request.maxTokens)
        var request = request
        request.maxTokens = maxNew
        self.model = model
        self.request = request
        self.promptIds = ids
        self.byteBudget = memoryBudget
    }

    /// Greedy generation along `path` (validated against the model).
    public func generate(path: LayerPath) throws -> GenerationResult {
        do { try path.validate(layerCount: model.layerCount) } catch { throw EngineError.invalidPath(error) }
        let c = model.configuration
        let t = promptIds.count, d = c.width, kv = c.kvWidth
        let seq = model.makeSequence(capacity: t + max(1, request.maxTokens), path: path)
        let x = model.workspace.buffer(.hidden, t * d)
        let rows = (0..<t).map { TransformerModel.Row(sequence: seq, position: $0) }

        // Longest prefix whose every shorter prefix is also checkpointed (their K/V are needed).
        var reused = 0
        while reused < path.count, checkpoints[Array(path.blocks[0...reused])] != nil { reused += 1 }
        for slot in 0..<reused {
            let cp = checkpoints[Array(path.blocks[0...slot])]!
            let cache = seq.cache.slot(slot)
            cp.keys.withUnsafeBufferPointer { k in
                cp.values.withUnsafeBufferPointer { v in
                    for p in 0..<t {
                        cache.store(position: p, key: k.baseAddress! + p * kv, value: v.baseAddress! + p * kv, kvWidth: kv)
                    }
                }
            }
        }
        if reused > 0 {
            checkpoints[Array(path.blocks[0..<reused])]!.hidden.withUnsafeBufferPointer {
                x.update(from: $0.baseAddress!, count: t * d)
            }
        } else {
            model.embed(promptIds[...], into: x)
        }
        blockApplicationsReused += reused
        for slot in reused..<path.count {
            model.applyBlock(path.blocks[slot], slot: slot, x: x, rows: rows)
            blockApplicationsComputed += 1
            let size = (t * d + 2 * t * kv) * MemoryLayout<Float>.size
            if bytesUsed + size <= byteBudget {
                let cache = seq.cache.slot(slot)
                checkpoints[Array(path.blocks[0...slot])] = Checkpoint(
                    hidden: Array(UnsafeBufferPointer(start: x, count: t * d)),
                    keys: Array(UnsafeBufferPointer(start: cache.keys, count: t * kv)),
                    values: Array(UnsafeBufferPointer(start: cache.values, count: t * kv)))
                bytesUsed += size
            }
        }
        seq.length = t
        let vocab = c.vocabularySize
        let out = model.workspace.buffer(.logits, vocab)
        model.logits(x + (t - 1) * d, rows: 1, into: out)
        let active = ActiveSequence(index: 0, request: request, sequence: seq, promptTokens: t,
                                    next: TransformerModel.argmax(out, vocab))
        return model.decodeGreedily([active], admit: { nil })[0].1
    }
}
