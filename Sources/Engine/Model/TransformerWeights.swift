/// A weight matrix `[rows × columns]` (rows = outputs), held twice: quantised as in the file (for
/// memory-bound decode kernels) and dequantised to f32 (for compute-bound batched prefill).
public struct LinearWeight: @unchecked Sendable {
    public let quantized: QuantizedMatrix
    /// Row-major f32 copy; owned by `TransformerWeights`.
    public let dense: UnsafeMutablePointer<Float>
    public var rows: Int { quantized.rows }
    public var columns: Int { quantized.columns }
}

/// The weights of one decoder block.
public struct BlockWeights: @unchecked Sendable {
    public let attentionNorm: [Float]
    public let query: LinearWeight, key: LinearWeight, value: LinearWeight, output: LinearWeight
    public let queryBias: [Float]?, keyBias: [Float]?, valueBias: [Float]?
    public let feedForwardNorm: [Float]
    public let gate: LinearWeight, up: LinearWeight, down: LinearWeight
    /// Q, K and V stacked by rows (`[q; k; v] × d`), so prefill runs one wider sgemm instead of three.
    public let queryKeyValueDense: UnsafeMutablePointer<Float>
    /// Gate and up stacked by rows (`[gate; up] × d`), for the same reason.
    public let gateUpDense: UnsafeMutablePointer<Float>
}

/// All weights of a decoder model, validated against its configuration.
public final class TransformerWeights: @unchecked Sendable {
    public let file: GGUFFile
    public let blocks: [BlockWeights]
    public let tokenEmbedding: LinearWeight
    public let outputNorm: [Float]
    /// The output head; the token embedding when the model ties them.
    public let outputHead: LinearWeight
    private var owned: [UnsafeMutablePointer<Float>] = []

    /// Loads and checks every tensor the architecture needs (names and shapes).
    public init(file: GGUFFile, configuration c: ModelConfiguration) throws(GGUFError) {
        self.file = file
        var owned: [UnsafeMutablePointer<Float>] = []
        func info(_ name: String, _ shape: [Int]) throws(GGUFError) -> GGUFTensorInfo {
            guard let t = file.tensor(named: name) else { throw .missingTensor(file: file.path, tensor: name) }
            // GGUF may store a vector as [n] or [n, 1]; compare without trailing 1s.
            var found = t.shape
            while found.count > shape.count, found.last == 1 { found.removeLast() }
            guard found == shape else {
                throw .unexpectedTensorShape(file: file.path, tensor: name, expected: shape, found: t.shape)
            }
            return t
        }
        func vector(_ name: String, _ n: Int) throws(GGUFError) -> [Float] {
            file.floats(of: try info(name, [n]))
        }
        func optionalVector(_ name: String, _ n: Int) throws(GGUFError) -> [Float]? {
            file.tensor(named: name) == nil ? nil : try vector(name, n)
        }
        /// An attention bias: required where the architecture has them, else read when present.
        func bias(_ name: String, _ n: Int) throws(GGUFError) -> [Float]? {
            c.attentionBiases ? try vector(name, n) : try optionalVector(name, n)
        }
        /// Dequantises into `destination` (part of a stacked buffer) or into a new buffer.
        func matrix(_ name: String, rows: Int, columns: Int,
                    into destination: UnsafeMutablePointer<Float>? = nil) throws(GGUFError) -> LinearWeight {
            let t = try info(name, [columns, rows])
            let q = QuantizedMatrix(type: t.type, rows: rows, columns: columns, data: file.data(of: t))
            let dense: UnsafeMutablePointer<Float>
            if let destination {
                dense = destination
            } else {
                dense = .allocate(capacity: rows * columns)
                owned.append(dense)
            }
            dequantizeRow(type: t.type, from: file.data(of: t), count: rows * columns, into: dense)
            return LinearWeight(quantized: q, dense: dense)
        }
        let d = c.width, kv = c.kvWidth, f = c.feedForwardWidth, qw = c.headCount * c.headDimension
        do {
            var blocks: [BlockWeights] = []
            for l in 0..<c.layerCount {
                let p = "blk.\(l)."
                // Q, K, V (and gate, up) are dequantised straight into one stacked buffer each.
                let qkvStack = UnsafeMutablePointer<Float>.allocate(capacity: (qw + 2 * kv) * d)
                let gateUpStack = UnsafeMutablePointer<Float>.allocate(capacity: 2 * f * d)
                owned += [qkvStack, gateUpStack]
                let q = try matrix(p + "attn_q.weight", rows: qw, columns: d, into: qkvStack)
                let k = try matrix(p + "attn_k.weight", rows: kv, columns: d, into: qkvStack + qw * d)
                let v = try matrix(p + "attn_v.weight", rows: kv, columns: d, into: qkvStack + (qw + kv) * d)
                let gate = try matrix(p + "ffn_gate.weight", rows: f, columns: d, into: gateUpStack)
                let up = try matrix(p + "ffn_up.weight", rows: f, columns: d, into: gateUpStack + f * d)
                blocks.append(BlockWeights(
                    attentionNorm: try vector(p + "attn_norm.weight", d),
                    query: q, key: k, value: v,
                    output: try matrix(p + "attn_output.weight", rows: d, columns: qw),
                    queryBias: try bias(p + "attn_q.bias", qw),
                    keyBias: try bias(p + "attn_k.bias", kv),
                    valueBias: try bias(p + "attn_v.bias", kv),
                    feedForwardNorm: try vector(p + "ffn_norm.weight", d),
                    gate: gate, up: up,
                    down: try matrix(p + "ffn_down.weight", rows: d, columns: f),
                    queryKeyValueDense: qkvStack,
                    gateUpDense: gateUpStack))
            }
            self.blocks = blocks
            self.tokenEmbedding = try matrix("token_embd.weight", rows: c.vocabularySize, columns: d)
            self.outputNorm = try vector("output_norm.weight", d)
            if file.tensor(named: "output.weight") != nil {
                self.outputHead = try matrix("output.weight", rows: c.vocabularySize, columns: d)
            } else {
                self.outputHead = self.tokenEmbedding
            }
        } catch {
            for p in owned { p.deallocate() }
            throw error
        }
        self.owned = owned
    }

    deinit { for p in owned { p.deallocate() } }
}
