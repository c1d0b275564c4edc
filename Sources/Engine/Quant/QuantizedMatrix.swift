import Dispatch

/// A row-major matrix of ggml-typed weights, laid out as in a GGUF tensor: `rows` rows of
/// `columns` elements, each row `bytesPerRow` bytes of whole blocks, rows back to back.
///
/// A view, not an owner: `data` typically points into a memory-mapped GGUF file and must stay
/// valid (and unchanged) for as long as the matrix is used. That is also why it is
/// `@unchecked Sendable`: the memory is read-only for the engine's lifetime, so sharing the view
/// between threads is safe.
///
/// For a GGUF tensor with shape `ne = [ne0, ne1]`, `columns = ne0` and `rows = ne1`.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    /// `rows * bytesPerRow` bytes, no particular alignment needed.
    public let data: UnsafeRawPointer

    /// - Precondition: `columns` is a whole number of `type` blocks; `rows >= 0`.
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) {
        precondition(rows >= 0, "negative row count")
        precondition(type.byteCount(elements: columns) != nil,
                     "a row of \(columns) elements is not a whole number of \(type.name) blocks")
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
    }

    /// Bytes of one packed row.
    public var bytesPerRow: Int { columns / type.blockSize * type.bytesPerBlock }

    /// Bytes of the whole matrix.
    public var byteCount: Int { rows * bytesPerRow }

    /// Dequantises row `row` (e.g. one token's embedding) into `columns` floats at `into`.
    /// - Precondition: `type.isSupported`, `row` in `0..<rows`.
    public func dequantizeRow(_ row: Int, into: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) outside 0..<\(rows)")
        Engine.dequantizeRow(type: type, from: data + row * bytesPerRow, count: columns, into: into)
    }
}

/// `multiply` over `rows` (all rows by default) with the rows split into `threads` contiguous
/// slices run concurrently with `DispatchQueue.concurrentPerform`.
///
/// Results are bitwise identical to a single-threaded `multiply` whatever `threads` is (see its
/// determinism contract). Small jobs run on the calling thread, since waking workers costs more
/// than the work.
/// - Precondition: as for `multiply`; `threads >= 1`.
public func multiplyParallel(_ m: QuantizedMatrix, vectors x: UnsafePointer<Float>, count batch: Int,
                             into y: UnsafeMutablePointer<Float>, rows: Range<Int>? = nil, threads: Int) {
    precondition(threads >= 1, "threads must be at least 1")
    let rows = rows ?? 0..<m.rows
    // Below ~64 K weights·vectors a slice costs less than a thread hand-off.
    let work = rows.count * m.columns * max(batch, 1)
    let slices = min(threads, rows.count, max(1, work / 65_536))
    guard slices > 1 else {
        multiply(m, vectors: x, count: batch, into: y, rows: rows)
        return
    }
    // Slice boundaries on multiples of 16 rows keep each thread's outputs on their own cache lines.
    let sliceRows = ((rows.count + slices - 1) / slices + 15) / 16 * 16
    let sliceCount = (rows.count + sliceRows - 1) / sliceRows
    let buffers = SharedBuffers(x: x, y: y)
    DispatchQueue.concurrentPerform(iterations: sliceCount) { slice in
        let lower = rows.lowerBound + slice * sliceRows
        let upper = min(lower + sliceRows, rows.upperBound)
        multiply(m, vectors: buffers.x, count: batch, into: buffers.y, rows: lower..<upper)
    }
}

/// The caller's buffers, handed to the worker threads. Safe to share: the inputs are only read,
/// and each worker writes only the outputs of its own rows.
private struct SharedBuffers: @unchecked Sendable {
    let x: UnsafePointer<Float>
    let y: UnsafeMutablePointer<Float>
}
