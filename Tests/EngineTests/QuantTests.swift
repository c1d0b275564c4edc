import Engine
import Foundation
import Support
import XCTest

/// Tests of the ggml quantisation formats: type table, exact dequantisation against fixtures made
/// by scripts/make_quant_fixtures.py (gguf.quants, itself checked against llama.cpp's reference
/// loops), and the fused matrix × vectors kernels.
final class QuantTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/quant")
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let supported: [GGMLType] = [.f32, .f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .q4_K, .q5_K, .q6_K]

    // MARK: - Type table

    func testTypeTableMatchesGGUFPy() throws {
        let fixture = try DequantFixture.load()
        for (name, size) in fixture.sizes {
            let type = try XCTUnwrap(GGMLType(rawValue: size.id), "gguf-py type \(name) missing")
            XCTAssertEqual(type.name.uppercased(), name.uppercased())
            XCTAssertEqual(type.blockSize, size.blockSize, name)
            if type == .q8_1 {
                // gguf-py's table still has the old 2×f32 header; ggml's block_q8_1 is 2×f16 + 32.
                XCTAssertEqual(type.bytesPerBlock, 36)
            } else {
                XCTAssertEqual(type.bytesPerBlock, size.bytesPerBlock, name)
            }
        }
        XCTAssertEqual(Set(GGMLType.allCases.filter(\.isSupported)), Set(Self.supported))
        XCTAssertEqual(GGMLType.q4_1.name, "q4_1")
        XCTAssertEqual(GGMLType.q6_K.name, "q6_K")
        XCTAssertEqual(GGMLType(rawValue: 30), .bf16)
        XCTAssertNil(GGMLType(rawValue: 4))
    }

    func testByteCount() {
        XCTAssertEqual(GGMLType.q4_1.byteCount(elements: 576), 18 * 20)
        XCTAssertEqual(GGMLType.q8_0.byteCount(elements: 64), 68)
        XCTAssertEqual(GGMLType.q6_K.byteCount(elements: 512), 420)
        XCTAssertEqual(GGMLType.f16.byteCount(elements: 7), 14)
        XCTAssertEqual(GGMLType.f32.byteCount(elements: 0), 0)
        XCTAssertNil(GGMLType.q4_0.byteCount(elements: 33))
        XCTAssertNil(GGMLType.q4_K.byteCount(elements: 128))
        XCTAssertNil(GGMLType.f32.byteCount(elements: -4))
        XCTAssertNil(GGMLType.f32.byteCount(elements: Int.max))
    }

    // MARK: - Dequantisation

    func testDequantizationMatchesReferenceBitwise() throws {
        let fixture = try DequantFixture.load()
        XCTAssertEqual(Set(fixture.cases.map(\.type)), Set(Self.supported.map { $0.name.uppercased() }))
        for c in fixture.cases {
            let type = try XCTUnwrap(GGMLType(rawValue: c.id))
            let raw = try XCTUnwrap(Data(hex: c.raw))
            let expected = try XCTUnwrap(Data(hex: c.expected)).floats
            XCTAssertEqual(expected.count, c.count)
            XCTAssertEqual(raw.count, type.byteCount(elements: c.count))

            // Whole run at once, and block by block (a different pointer alignment each time).
            let whole = raw.withUnsafeBytes { dequantizedArray(type, $0.baseAddress!, count: c.count) }
            assertBitwiseEqual(whole, expected, "\(type.name) whole")
            var pieces = [Float](repeating: .nan, count: c.count)
            raw.withUnsafeBytes { bytes in
                for block in 0..<(c.count / type.blockSize) {
                    let dst = pieces.withUnsafeMutableBufferPointer { $0.baseAddress! + block * type.blockSize }
                    dequantizeRow(type: type, from: bytes.baseAddress! + block * type.bytesPerBlock,
                                  count: type.blockSize, into: dst)
                }
            }
            assertBitwiseEqual(pieces, expected, "\(type.name) by block")
        }
    }

    /// Every binary16 value, against Swift's own Float16 → Float conversion (exact by IEEE 754).
    func testF16WideningIsExactForAllValues() {
        let halves = (0...UInt16.max).map { $0 }
        let ours = halves.withUnsafeBytes { dequantizedArray(.f16, $0.baseAddress!, count: halves.count) }
        // An odd count takes the scalar tail path; this run crosses the subnormal/normal boundary.
        let tail = halves.withUnsafeBytes { dequantizedArray(.f16, $0.baseAddress! + 2 * 0x03F6, count: 37) }
        for (i, h) in halves.enumerated() {
            let reference = Float(Float16(bitPattern: h))
            if reference.isNaN {
                XCTAssertTrue(ours[i].isNaN, "f16 \(h)")
            } else {
                XCTAssertEqual(ours[i].bitPattern, reference.bitPattern, "f16 \(String(h, radix: 16))")
            }
        }
        for i in 0..<37 {
            XCTAssertEqual(tail[i].bitPattern, Float(Float16(bitPattern: UInt16(0x03F6 + i))).bitPattern)
        }
    }

    func testBF16IsUpperHalfOfFloat() {
        let halves = (0...UInt16.max).map { $0 }
        let ours = halves.withUnsafeBytes { dequantizedArray(.bf16, $0.baseAddress!, count: halves.count) }
        for (i, h) in halves.enumerated() {
            XCTAssertEqual(ours[i].bitPattern, UInt32(h) << 16)
        }
    }

    /// Real tensors of the default model, against gguf-py reading the same file.
    func testDequantizationOfRealModelTensors() throws {
        let fixture = try ModelFixture.load()
        let url = Self.repositoryRoot.appendingPathComponent(fixture.model)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw XCTSkip("model \(fixture.model) not present")
        }
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        XCTAssertEqual(try handle.seekToEnd(), UInt64(fixture.fileSize), "model file changed; rerun the fixture script")
        var seen = Set<GGMLType>()
        for c in fixture.cases {
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name.uppercased() == c.type.uppercased() })
            seen.insert(type)
            try handle.seek(toOffset: UInt64(c.offset))
            let raw = try XCTUnwrap(handle.read(upToCount: try XCTUnwrap(type.byteCount(elements: c.count))))
            let expected = try XCTUnwrap(Data(hex: c.expected)).floats
            let ours = raw.withUnsafeBytes { dequantizedArray(type, $0.baseAddress!, count: c.count) }
            assertBitwiseEqual(ours, expected, c.tensor)
        }
        XCTAssertEqual(seen, [.q4_1, .q8_0, .f32])
    }

    // MARK: - Kernels

    /// multiply ≈ a float64 dot of the dequantised rows, bitwise equal to the F32 matrix of the
    /// same weights (except the factored q4_1/q8_0 kernels), and bitwise independent of batch
    /// size, row split and threads.
    func testMultiplyAllTypes() {
        for type in Self.supported {
            // Odd row count; element-wise types get a row that is not a whole number of 32s.
            let columns = type.blockSize == 256 ? 512 : (type.blockSize == 1 ? 83 : 160)
            checkKernel(type: type, rows: 37, columns: columns, seed: UInt64(type.rawValue) + 1)
        }
    }

    func testMultiplyDefaultModelShapes() {
        checkKernel(type: .q4_1, rows: 64, columns: 1536, seed: 7)   // ffn_down slice
        checkKernel(type: .q4_1, rows: 96, columns: 576, seed: 8)    // q/k/v/o, gate/up slices
        checkKernel(type: .q8_0, rows: 80, columns: 576, seed: 9)    // token embedding / lm head slice
    }

    func testMultiplyParallelMatchesSerial() {
        let matrix = RandomMatrix(type: .q4_1, rows: 1536, columns: 576, seed: 11)
        for batch in [1, 3] {
            let x = randomVectors(count: batch * 576, seed: 12)
            let serial = matrix.multiplied(by: x, batch: batch)
            for threads in [1, 2, 3, 8] {
                var y = [Float](repeating: .nan, count: batch * 1536)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        matrix.withMatrix { multiplyParallel($0, vectors: xp.baseAddress!, count: batch, into: yp.baseAddress!, threads: threads) }
                    }
                }
                assertBitwiseEqual(y, serial, "threads \(threads) batch \(batch)")
            }
        }
    }

    func testQuantizedMatrixRowAccess() {
        let matrix = RandomMatrix(type: .q8_0, rows: 5, columns: 64, seed: 3)
        let all = matrix.dequantized()
        matrix.withMatrix { m in
            XCTAssertEqual(m.bytesPerRow, 68)
            XCTAssertEqual(m.byteCount, 340)
            var row = [Float](repeating: 0, count: 64)
            row.withUnsafeMutableBufferPointer { m.dequantizeRow(3, into: $0.baseAddress!) }
            assertBitwiseEqual(row, Array(all[(3 * 64)..<(4 * 64)]), "row 3")
        }
    }

    // MARK: - Helpers

    private func checkKernel(type: GGMLType, rows: Int, columns: Int, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let matrix = RandomMatrix(type: type, rows: rows, columns: columns, seed: seed)
        let weights = matrix.dequantized()
        let batch = 21   // more than one pass of the batched kernel
        let x = randomVectors(count: batch * columns, seed: seed &+ 100)
        let y = matrix.multiplied(by: x, batch: batch)

        // Accuracy against float64.
        for b in 0..<batch {
            for r in 0..<rows {
                var exact = 0.0
                var magnitude = 0.0
                for k in 0..<columns {
                    let term = Double(weights[r * columns + k]) * Double(x[b * columns + k])
                    exact += term
                    magnitude += abs(term)
                }
                let got = Double(y[b * rows + r])
                XCTAssertLessThanOrEqual(abs(got - exact), 4e-6 * magnitude + 1e-30,
                                         "\(type.name) row \(r) vector \(b)", file: file, line: line)
            }
        }

        // Same weights as F32: bitwise the same results (one canonical summation order) — except
        // the factored kernels of q4_1 and q8_0 (d·Σq·x + m·Σx), which differ in the last bits.
        if type != .f32 && type != .q4_1 && type != .q8_0 {
            let f32 = weights.withUnsafeBytes { Data($0) }
            let plain = RandomMatrix(type: .f32, rows: rows, columns: columns, bytes: f32)
            assertBitwiseEqual(plain.multiplied(by: x, batch: batch), y, "\(type.name) vs f32", file: file, line: line)
        }

        // Batch size does not change any value: every vector alone, and every batch from 2 to 9
        // (tiles of four vectors and the tails of the batched kernels), against the batch of 21.
        for b in 0..<batch {
            let single = matrix.multiplied(by: Array(x[(b * columns)..<((b + 1) * columns)]), batch: 1)
            assertBitwiseEqual(single, Array(y[(b * rows)..<((b + 1) * rows)]), "\(type.name) batch 1 vs 21, vector \(b)", file: file, line: line)
        }
        for size in 2...9 {
            let part = matrix.multiplied(by: Array(x[0..<(size * columns)]), batch: size)
            assertBitwiseEqual(part, Array(y[0..<(size * rows)]), "\(type.name) batch \(size) vs 21", file: file, line: line)
        }

        // Row splits do not change any value, and rows outside the range are left alone.
        for batchSize in [1, 5] {
            let xs = Array(x[0..<(batchSize * columns)])
            var split = [Float](repeating: .nan, count: batchSize * rows)
            xs.withUnsafeBufferPointer { xp in
                split.withUnsafeMutableBufferPointer { yp in
                    matrix.withMatrix { m in
                        for range in [0..<1, 1..<14, 14..<14, 14..<(rows - 1)] {
                            multiply(m, vectors: xp.baseAddress!, count: batchSize, into: yp.baseAddress!, rows: range)
                        }
                    }
                }
            }
            for b in 0..<batchSize {
                XCTAssertTrue(split[b * rows + rows - 1].isNaN, "row outside the range was written", file: file, line: line)
                split[b * rows + rows - 1] = y[b * rows + rows - 1]
            }
            assertBitwiseEqual(split, Array(y[0..<(batchSize * rows)]), "\(type.name) split rows, batch \(batchSize)", file: file, line: line)
        }
    }
}

// MARK: - Fixture and test-data helpers

private struct DequantFixture: Decodable {
    struct Case: Decodable {
        let type: String
        let id: UInt32
        let count: Int
        let raw: String
        let expected: String
    }
    struct Size: Decodable {
        let id: UInt32
        let blockSize: Int
        let bytesPerBlock: Int
    }
    let cases: [Case]
    let sizes: [String: Size]

    static func load() throws -> DequantFixture {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: QuantTests.fixtures.appendingPathComponent("dequant.json")))
    }
}

private struct ModelFixture: Decodable {
    struct Case: Decodable {
        let tensor: String
        let type: String
        let offset: Int
        let count: Int
        let expected: String
    }
    let model: String
    let fileSize: Int
    let cases: [Case]

    static func load() throws -> ModelFixture {
        try JSONDecoder().decode(Self.self, from: Data(contentsOf: QuantTests.fixtures.appendingPathComponent("model.json")))
    }
}

private extension Data {
    init?(hex: String) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            guard let nibble = c.hexNibble else { return nil }
            if let h = high {
                bytes.append(h << 4 | nibble)
                high = nil
            } else {
                high = nibble
            }
        }
        guard high == nil else { return nil }
        self.init(bytes)
    }

    /// Little-endian float32 values.
    var floats: [Float] {
        withUnsafeBytes { raw in
            (0..<(count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }
}

private extension UInt8 {
    var hexNibble: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// SplitMix64: a tiny seeded generator so the kernel tests are reproducible.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private func randomVectors(count: Int, seed: UInt64) -> [Float] {
    var rng = SeededGenerator(state: seed)
    return (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
}

/// A matrix of random packed weights owning its bytes.
private struct RandomMatrix {
    let type: GGMLType
    let rows: Int
    let columns: Int
    let bytes: Data

    init(type: GGMLType, rows: Int, columns: Int, bytes: Data) {
        self.type = type
        self.rows = rows
        self.columns = columns
        self.bytes = bytes
    }

    /// Random bytes, with every f16 scale field replaced by a sane finite value.
    init(type: GGMLType, rows: Int, columns: Int, seed: UInt64) {
        var rng = SeededGenerator(state: seed)
        let blocks = rows * columns / type.blockSize
        var raw = [UInt8]((0..<(blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        func half(_ value: Float) -> [UInt8] {
            let bits = Float16(value).bitPattern
            return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
        }
        let halfFields: [Int] = switch type {
        case .q4_0, .q5_0, .q8_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q6_K: [208]
        default: []
        }
        for block in 0..<blocks {
            for field in halfFields {
                let scale = Float.random(in: 0.0001...0.05, using: &rng) * (Bool.random(using: &rng) ? 1 : -1)
                raw.replaceSubrange((block * type.bytesPerBlock + field)..<(block * type.bytesPerBlock + field + 2), with: half(scale))
            }
        }
        switch type {
        case .f32:
            raw = (0..<(rows * columns)).flatMap { _ in withUnsafeBytes(of: Float.random(in: -1...1, using: &rng)) { Array($0) } }
        case .f16:
            raw = (0..<(rows * columns)).flatMap { _ in half(Float.random(in: -1...1, using: &rng)) }
        case .bf16:
            raw = (0..<(rows * columns)).flatMap { _ in
                let bits = Float.random(in: -1...1, using: &rng).bitPattern >> 16
                return [UInt8(bits & 0xFF), UInt8(bits >> 8)]
            }
        default: break
        }
        self.init(type: type, rows: rows, columns: columns, bytes: Data(raw))
    }

    func withMatrix<R>(_ body: (QuantizedMatrix) -> R) -> R {
        bytes.withUnsafeBytes { body(QuantizedMatrix(type: type, rows: rows, columns: columns, data: $0.baseAddress!)) }
    }

    func dequantized() -> [Float] {
        bytes.withUnsafeBytes { dequantizedArray(type, $0.baseAddress!, count: rows * columns) }
    }

    func multiplied(by x: [Float], batch: Int) -> [Float] {
        var y = [Float](repeating: .nan, count: batch * rows)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                withMatrix { multiply($0, vectors: xp.baseAddress!, count: batch, into: yp.baseAddress!, rows: 0..<rows) }
            }
        }
        return y
    }
}

private func dequantizedArray(_ type: GGMLType, _ from: UnsafeRawPointer, count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
        dequantizeRow(type: type, from: from, count: count, into: buffer.baseAddress!)
        initialized = count
    }
}

private func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ message: String,
                                file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, message, file: file, line: line)
    for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
        XCTFail("\(message): element \(i): \(a[i]) != \(b[i])", file: file, line: line)
        return
    }
}
