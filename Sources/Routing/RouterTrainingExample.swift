/// One training example for the routers: the pooled windows every router sees under teacher
/// forcing, and the MCTS label of every block.
///
/// The harness runs the model along the example's label path π*, takes the hidden states entering
/// each block ℓ (for a skipped block: the states that pass by it, i.e. the input of the next
/// applied block), pools them with `WindowPooling.pool` and stores them here. The prompt length
/// is the same at every block, so every layer has the same `windowCount`.
///
/// `pooled` is one flat buffer, layer-major: `pooled[(ℓ·windowCount + w)·width + k]`. A flat
/// buffer keeps 4,000 examples × 30 layers × 8 windows × 576 floats (~2.2 GB) in as few
/// allocations as possible and lets training copy a layer's windows with one `memcpy`.
public struct RouterTrainingExample: Sendable, Equatable {
    /// The example's identifier (from the MCTS record), used in error messages.
    public var id: String
    /// Number of blocks L.
    public let layerCount: Int
    /// Windows per layer, `min(maxWindows, T)`.
    public let windowCount: Int
    /// Hidden width d.
    public let width: Int
    /// Pooled windows, `[layerCount × windowCount × width]`.
    public let pooled: [Float]
    /// Label per block: 0 skip, 1 execute, 2 repeat (the block's multiplicity in π*).
    public let labels: [Int]
    /// Prompt length T the windows were pooled from, when known; lets `check` verify that the
    /// examples were pooled with the same window rule (`windowCount == min(maxWindows, T)`) the
    /// routers will use at inference.
    public var tokens: Int?

    /// Wraps a flat pooled buffer (shape checked by `check`, which training calls).
    public init(id: String = "", layerCount: Int, windowCount: Int, width: Int, pooled: [Float], labels: [Int],
                tokens: Int? = nil) {
        self.id = id
        self.tokens = tokens
        self.layerCount = layerCount
        self.windowCount = windowCount
        self.width = width
        self.pooled = pooled
        self.labels = labels
    }

    /// Builds the flat buffer from one `[windowCount × width]` array per layer (as returned by
    /// `WindowPooling.pool`).
    public init(id: String = "", layers: [[Float]], windowCount: Int, width: Int, labels: [Int], tokens: Int? = nil) {
        var flat: [Float] = []
        flat.reserveCapacity(layers.count * windowCount * width)
        for layer in layers { flat.append(contentsOf: layer) }
        self.init(id: id, layerCount: layers.count, windowCount: windowCount, width: width, pooled: flat, labels: labels,
                  tokens: tokens)
    }

    /// The pooled windows router `layer` sees, `[windowCount × width]`.
    public func windows(layer: Int) -> ArraySlice<Float> {
        let n = windowCount * width
        return pooled[(layer * n)..<((layer + 1) * n)]
    }

    /// Checks shape, labels and values against the routers being trained; `index` names the
    /// example in the error.
    public func check(index: Int, layerCount expectedLayers: Int, width expectedWidth: Int,
                      maxWindows: Int) throws(RoutingError) {
        let name = id.isEmpty ? "" : " ('\(id)')"
        func fail(_ reason: String) -> RoutingError { .invalidTrainingExample(index: index, reason: reason + name) }
        if layerCount != expectedLayers { throw fail("has \(layerCount) layers, expected \(expectedLayers)") }
        if width != expectedWidth { throw fail("has width \(width), expected \(expectedWidth)") }
        if windowCount < 1 || windowCount > maxWindows {
            throw fail("has \(windowCount) windows, expected 1…\(maxWindows)")
        }
        if let tokens, windowCount != WindowPooling.windowCount(tokens: tokens, maxWindows: maxWindows) {
            throw fail("has \(windowCount) windows for \(tokens) tokens, expected min(\(maxWindows), \(tokens)); pool with the routers' window count")
        }
        if pooled.count != layerCount * windowCount * width {
            throw fail("holds \(pooled.count) pooled floats, expected \(layerCount) × \(windowCount) × \(width) = \(layerCount * windowCount * width)")
        }
        if labels.count != layerCount { throw fail("has \(labels.count) labels, expected \(layerCount)") }
        if let bad = labels.firstIndex(where: { $0 < 0 || $0 > 2 }) {
            throw fail("label of layer \(bad) is \(labels[bad]), expected 0 (skip), 1 (execute) or 2 (repeat)")
        }
        if let bad = pooled.firstIndex(where: { !$0.isFinite }) {
            throw fail("pooled value \(bad) (layer \(bad / max(1, windowCount * width))) is \(pooled[bad]), expected a finite number")
        }
    }
}
