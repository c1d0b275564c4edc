import Engine
import Foundation
import XCTest

/// Writes small GGUF files for tests: every value type, nested arrays, chosen tensor types.
struct GGUFTestWriter {
    var version: UInt32 = 3
    var metadata: [(String, GGUFValue)] = []
    var tensors: [(name: String, shape: [UInt64], type: UInt32, bytes: [UInt8])] = []
    var alignment = 32
    var magic = Array("GGUF".utf8)

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String) { put(UInt64(s.utf8.count)); out += Array(s.utf8) }
        func value(_ v: GGUFValue) {
            switch v {
            case let .uint8(x): put(x)
            case let .int8(x): put(x)
            case let .uint16(x): put(x)
            case let .int16(x): put(x)
            case let .uint32(x): put(x)
            case let .int32(x): put(x)
            case let .uint64(x): put(x)
            case let .int64(x): put(x)
            case let .float32(x): put(x.bitPattern)
            case let .float64(x): put(x.bitPattern)
            case let .bool(x): put(UInt8(x ? 1 : 0))
            case let .string(x): str(x)
            case let .array(t, items):
                put(t.rawValue)
                put(UInt64(items.count))
                for i in items { value(i) }
            }
        }
        out += magic
        put(version)
        put(UInt64(tensors.count))
        put(UInt64(metadata.count))
        for (k, v) in metadata { str(k); put(v.type.rawValue); value(v) }
        var offset: UInt64 = 0
        var offsets: [UInt64] = []
        for t in tensors {
            offsets.append(offset)
            offset += UInt64((t.bytes.count + alignment - 1) / alignment * alignment)
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name)
            put(UInt32(t.shape.count))
            for d in t.shape { put(d) }
            put(t.type)
            put(o)
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out += t.bytes
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    func write() throws -> String {
        let path = NSTemporaryDirectory() + "gguf-test-\(UUID().uuidString).gguf"
        try Data(bytes()).write(to: URL(fileURLWithPath: path))
        return path
    }
}

final class GGUFReaderTests: XCTestCase {
    func f32Bytes(_ v: [Float]) -> [UInt8] { v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }

    func testAllValueTypesAndNestedArrays() throws {
        var w = GGUFTestWriter()
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-30000)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-2_000_000_000)), ("u64", .uint64(1 << 40)),
            ("i64", .int64(-(1 << 40))), ("f32", .float32(1.5)), ("f64", .float64(-2.25)), ("b", .bool(true)),
            ("s", .string("naïve ✓")),
            ("nested", .array(elementType: .array, [
                .array(elementType: .int32, [.int32(1), .int32(2)]),
                .array(elementType: .string, [.string("a")]),
                .array(elementType: .float32, []),
            ])),
        ]
        w.metadata = values
        w.tensors = [("t", [4, 2], 0, f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]))]
        let path = try w.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        for (k, v) in values { XCTAssertEqual(f.metadata[k], v, k) }
        XCTAssertEqual(f.metadataKeys, values.map(\.0))
        XCTAssertEqual(f.version, 3)
        let t = try XCTUnwrap(f.tensor(named: "t"))
        XCTAssertEqual(t.shape, [4, 2])
        XCTAssertEqual(f.floats(of: t), [1, 2, 3, 4, 5, 6, 7, 8])
    }

    func testVersion2AndCustomAlignment() throws {
        var w = GGUFTestWriter()
        w.version = 2
        w.alignment = 64
        w.metadata = [("general.alignment", .uint32(64))]
        w.tensors = [("a", [3], 0, f32Bytes([1, 2, 3])), ("b", [2], 0, f32Bytes([4, 5]))]
        let path = try w.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        XCTAssertEqual(f.alignment, 64)
        XCTAssertEqual(f.dataOffset % 64, 0)
        XCTAssertEqual(f.floats(of: f.tensor(named: "b")!), [4, 5])
    }

    func expectError(_ w: GGUFTestWriter, _ check: (GGUFError) -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let path = try w.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GGUFFile(path: path)
            XCTFail("expected an error", file: file, line: line)
        } catch {
            XCTAssertTrue(check(error), "unexpected error \(error)", file: file, line: line)
            XCTAssertTrue(error.localizedDescription.contains(path), "message should name the file: \(error.localizedDescription)", file: file, line: line)
        }
    }

    func testCorruptFilesAreRefusedWithClearErrors() throws {
        var w = GGUFTestWriter()
        w.magic = Array("GGML".utf8)
        try expectError(w) { if case .badMagic = $0 { return true } else { return false } }

        w = GGUFTestWriter()
        w.version = 1
        try expectError(w) { if case .unsupportedVersion(_, 1) = $0 { return true } else { return false } }

        w = GGUFTestWriter()
        w.tensors = [("q2", [256], 10, [UInt8](repeating: 0, count: 84))]
        try expectError(w) {
            if case let .unsupportedTensorType(_, tensor, type) = $0 { return tensor == "q2" && type == "q2_K" } else { return false }
        }

        w = GGUFTestWriter()
        w.tensors = [("weird", [4], 99, f32Bytes([1, 2, 3, 4]))]
        try expectError(w) { if case .unknownTensorType(_, "weird", 99) = $0 { return true } else { return false } }

        w = GGUFTestWriter()
        w.tensors = [("q", [31], 8, [UInt8](repeating: 0, count: 34))]
        try expectError(w) { if case .badTensorShape(_, "q", _) = $0 { return true } else { return false } }
    }

    func testTruncatedFilesAreRefused() throws {
        var w = GGUFTestWriter()
        w.metadata = [("general.architecture", .string("llama")), ("x", .array(elementType: .uint32, [.uint32(1), .uint32(2)]))]
        w.tensors = [("t", [64], 0, f32Bytes([Float](repeating: 1, count: 64)))]
        let full = w.bytes()
        for cut in [3, 10, 30, 60, full.count - 300, full.count - 1] {
            let path = NSTemporaryDirectory() + "gguf-trunc-\(cut).gguf"
            try Data(full.prefix(cut)).write(to: URL(fileURLWithPath: path))
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertThrowsError(try GGUFFile(path: path), "cut at \(cut)") { error in
                let e = error as! GGUFError
                switch e {
                case .truncated, .tensorOutOfBounds, .implausibleCount: break
                default: XCTFail("cut at \(cut): unexpected \(e)")
                }
            }
        }
    }

    func testMissingFileAndDirectory() {
        XCTAssertThrowsError(try GGUFFile(path: "/nonexistent/model.gguf")) { e in
            XCTAssertTrue(e.localizedDescription.contains("/nonexistent/model.gguf"))
        }
        XCTAssertThrowsError(try GGUFFile(path: NSTemporaryDirectory()))
    }

    func testRealModelMetadataAndTensors() throws {
        let f = try GGUFFile(path: TestPaths.modelPath)
        XCTAssertEqual(try f.string("general.architecture"), "llama")
        let c = try ModelConfiguration(gguf: f)
        XCTAssertEqual(c.layerCount, 30)
        XCTAssertEqual(c.width, 576)
        XCTAssertEqual(c.headCount, 9)
        XCTAssertEqual(c.kvHeadCount, 3)
        XCTAssertEqual(c.vocabularySize, 49152)
        XCTAssertEqual(f.tensor(named: "blk.0.attn_q.weight")?.type, .q4_1)
        XCTAssertEqual(f.tensor(named: "token_embd.weight")?.type, .q8_0)
        XCTAssertNil(f.tensor(named: "output.weight"), "SmolLM2 ties the output head to the embedding")
    }

    func testUnsupportedArchitectureIsRefused() throws {
        var w = GGUFTestWriter()
        w.metadata = [("general.architecture", .string("mamba"))]
        let path = try w.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        XCTAssertThrowsError(try ModelConfiguration(gguf: f)) { e in
            XCTAssertEqual(e as? GGUFError, .unsupportedArchitecture(file: path, architecture: "mamba"))
        }
    }
}
