import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where one tensor lives in a GGUF file and what it holds.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions as GGUF stores them: `shape[0]` is the fastest-varying (row length).
    public let shape: [Int]
    public let type: GGMLType
    /// Byte offset relative to the start of the data section.
    public let offset: Int
    /// Total byte size of the tensor's data.
    public let byteCount: Int
    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped GGUF (v2 or v3) model file: metadata, tensor infos and raw tensor bytes.
///
/// The file is validated completely on open: every metadata value is parsed, every tensor's type is
/// known and supported, its shape is a whole number of quantisation blocks, and its data lies
/// inside the file. A corrupt file is refused with a `GGUFError` rather than producing garbage.
public final class GGUFFile: @unchecked Sendable {
    /// The path the file was opened from (used in every error message).
    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute byte offset of the data section.
    public let dataOffset: Int
    public let fileSize: Int

    // Immutable after init; the mapping is read-only and lives as long as the object.
    private let base: UnsafeRawPointer
    private let tensorIndex: [String: Int]

    /// Opens and validates `path`.
    public init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .cannotOpen(file: path, reason: "is a directory") }
        let size = Int(st.st_size)
        guard size > 0 else { throw .truncated(file: path, at: 0, needed: 4, context: "magic") }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapped != MAP_FAILED else {
            throw .cannotOpen(file: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        let base = UnsafeRawPointer(mapped)
        var parsed: Parsed
        do {
            var reader = Reader(base: base, size: size, file: path)
            parsed = try Self.parse(&reader)
        } catch {
            munmap(mapped, size)
            throw error
        }
        self.base = base
        self.fileSize = size
        self.version = parsed.version
        self.metadata = parsed.metadata
        self.metadataKeys = parsed.keys
        self.tensors = parsed.tensors
        self.alignment = parsed.alignment
        self.dataOffset = parsed.dataOffset
        var index: [String: Int] = [:]
        for (i, t) in parsed.tensors.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), fileSize) }

    /// The info of tensor `name`, or nil.
    public func tensor(named name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// Raw bytes of a tensor (valid as long as this object lives).
    public func data(of tensor: GGUFTensorInfo) -> UnsafeRawPointer { base + dataOffset + tensor.offset }

    /// Dequantises a whole tensor to f32, exactly as llama.cpp's reference dequantisation does.
    public func floats(of tensor: GGUFTensorInfo) -> [Float] {
        let n = tensor.elementCount
        return [Float](unsafeUninitializedCapacity: n) { buf, count in
            dequantizeRow(type: tensor.type, from: data(of: tensor), count: n, into: buf.baseAddress!)
            count = n
        }
    }

    // MARK: Typed metadata access

    /// A required string value.
    public func string(_ key: String) throws(GGUFError) -> String {
        guard let v = metadata[key] else { throw .missingKey(file: path, key: key, expected: "a string") }
        guard let s = v.stringValue else { throw .wrongKeyType(file: path, key: key, expected: "string", found: v.type.description) }
        return s
    }

    /// A required integer value (any integer type).
    public func int(_ key: String) throws(GGUFError) -> Int {
        guard let v = metadata[key] else { throw .missingKey(file: path, key: key, expected: "an integer") }
        guard let i = v.intValue else { throw .wrongKeyType(file: path, key: key, expected: "integer", found: v.type.description) }
        return i
    }

    /// An optional integer value; a present value of the wrong type is still an error.
    public func optionalInt(_ key: String) throws(GGUFError) -> Int? {
        guard let v = metadata[key] else { return nil }
        guard let i = v.intValue else { throw .wrongKeyType(file: path, key: key, expected: "integer", found: v.type.description) }
        return i
    }

    /// An optional floating-point value.
    public func optionalDouble(_ key: String) throws(GGUFError) -> Double? {
        guard let v = metadata[key] else { return nil }
        guard let d = v.doubleValue else { throw .wrongKeyType(file: path, key: key, expected: "number", found: v.type.description) }
        return d
    }

    /// An optional bool value.
    public func optionalBool(_ key: String) throws(GGUFError) -> Bool? {
        guard let v = metadata[key] else { return nil }
        guard let b = v.boolValue else { throw .wrongKeyType(file: path, key: key, expected: "bool", found: v.type.description) }
        return b
    }

    /// A required array of strings.
    public func stringArray(_ key: String) throws(GGUFError) -> [String] {
        guard let v = metadata[key] else { throw .missingKey(file: path, key: key, expected: "an array of strings") }
        guard case let .array(t, items) = v, t == .string else {
            throw .wrongKeyType(file: path, key: key, expected: "array of string", found: Self.describe(v))
        }
        return items.map { $0.stringValue! }
    }

    /// An optional array of integers.
    public func optionalIntArray(_ key: String) throws(GGUFError) -> [Int]? {
        guard let v = metadata[key] else { return nil }
        guard case let .array(_, items) = v else {
            throw .wrongKeyType(file: path, key: key, expected: "array of integers", found: v.type.description)
        }
        var out: [Int] = []
        out.reserveCapacity(items.count)
        for item in items {
            guard let i = item.intValue else {
                throw .wrongKeyType(file: path, key: key, expected: "array of integers", found: Self.describe(v))
            }
            out.append(i)
        }
        return out
    }

    private static func describe(_ v: GGUFValue) -> String {
        if case let .array(t, _) = v { return "array of \(t)" }
        return v.type.description
    }

    // MARK: Parsing

    private struct Parsed {
        var version: UInt32
        var metadata: [String: GGUFValue]
        var keys: [String]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataOffset: Int
    }

    private static func parse(_ r: inout Reader) throws(GGUFError) -> Parsed {
        let file = r.file
        let magic = try r.bytes(4, "magic")
        guard magic == Array("GGUF".utf8) else {
            let shown = magic.allSatisfy { $0 >= 32 && $0 < 127 }
                ? "'" + String(decoding: magic, as: UTF8.self) + "'"
                : magic.map { String(format: "%02x", $0) }.joined(separator: " ")
            throw .badMagic(file: file, found: shown)
        }
        let version: UInt32 = try r.scalar("version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(file: file, version: version) }
        let tensorCount: UInt64 = try r.scalar("tensor count")
        let kvCount: UInt64 = try r.scalar("metadata count")
        // Each tensor info needs at least 8+4+8+4+8 bytes, each kv at least 8+4+1.
        guard tensorCount <= UInt64(r.size / 32) else { throw .implausibleCount(file: file, context: "tensor", count: tensorCount) }
        guard kvCount <= UInt64(r.size / 13) else { throw .implausibleCount(file: file, context: "metadata", count: kvCount) }

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        for i in 0..<Int(kvCount) {
            let key = try r.string("metadata key #\(i)")
            let rawType: UInt32 = try r.scalar("type of '\(key)'")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw .invalidValueType(file: file, key: key, raw: rawType)
            }
            let value = try r.value(type, key: key, depth: 0)
            if metadata[key] == nil { keys.append(key) }
            metadata[key] = value
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.intValue, v > 0, v & (v - 1) == 0 else {
                throw .badAlignment(file: file, value: a.intValue ?? -1)
            }
            alignment = v
        }

        var tensors: [GGUFTensorInfo] = []
        var seen = Set<String>()
        for i in 0..<Int(tensorCount) {
            let name = try r.string("name of tensor #\(i)")
            let nDims: UInt32 = try r.scalar("dimension count of tensor '\(name)'")
            guard nDims >= 1 && nDims <= 4 else {
                throw .badTensorShape(file: file, tensor: name, reason: "has \(nDims) dimensions, expected 1...4")
            }
            var shape: [Int] = []
            for _ in 0..<nDims {
                let d: UInt64 = try r.scalar("shape of tensor '\(name)'")
                guard d > 0 && d < (1 << 40) else {
                    throw .badTensorShape(file: file, tensor: name, reason: "dimension \(d) is out of range")
                }
                shape.append(Int(d))
            }
            let rawType: UInt32 = try r.scalar("type of tensor '\(name)'")
            guard let type = GGMLType(rawValue: rawType) else {
                throw .unknownTensorType(file: file, tensor: name, raw: rawType)
            }
            guard type.isSupported else { throw .unsupportedTensorType(file: file, tensor: name, type: type.name) }
            let offset: UInt64 = try r.scalar("offset of tensor '\(name)'")
            // A tensor that starts past the end of the file cannot fit (and its offset may not fit an Int).
            guard offset <= UInt64(r.size) else {
                throw .tensorOutOfBounds(file: file, tensor: name, end: Int(clamping: offset), fileSize: r.size)
            }
            guard offset % UInt64(alignment) == 0 else {
                throw .badTensorShape(file: file, tensor: name, reason: "data offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard shape[0] % type.blockSize == 0 else {
                throw .badTensorShape(file: file, tensor: name,
                                      reason: "row length \(shape[0]) is not a multiple of the \(type.name) block size \(type.blockSize)")
            }
            // Dimensions below 2^40 each can still multiply past any file (and past Int).
            var elements = 1
            for d in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= r.size * 8 else {
                    throw .badTensorShape(file: file, tensor: name, reason: "shape \(shape) holds more elements than the file can")
                }
                elements = product
            }
            guard let bytes = type.byteCount(elements: elements) else {
                throw .badTensorShape(file: file, tensor: name, reason: "\(elements) elements do not fill whole \(type.name) blocks")
            }
            guard seen.insert(name).inserted else { throw .duplicateTensor(file: file, tensor: name) }
            tensors.append(GGUFTensorInfo(name: name, shape: shape, type: type, offset: Int(offset), byteCount: bytes))
        }
        let dataOffset = (r.position + alignment - 1) / alignment * alignment
        for t in tensors {
            let end = dataOffset + t.offset + t.byteCount
            guard end <= r.size else { throw .tensorOutOfBounds(file: file, tensor: t.name, end: end, fileSize: r.size) }
        }
        return Parsed(version: version, metadata: metadata, keys: keys, tensors: tensors,
                      alignment: alignment, dataOffset: dataOffset)
    }
}

/// A bounds-checked little-endian cursor over the mapped file.
private struct Reader {
    let base: UnsafeRawPointer
    let size: Int
    let file: String
    var position = 0

    init(base: UnsafeRawPointer, size: Int, file: String) {
        self.base = base
        self.size = size
        self.file = file
    }

    mutating func need(_ n: Int, _ context: @autoclosure () -> String) throws(GGUFError) {
        if n < 0 || size - position < n {
            throw .truncated(file: file, at: position, needed: n - (size - position), context: context())
        }
    }

    mutating func scalar<T: FixedWidthInteger>(_ context: @autoclosure () -> String) throws(GGUFError) -> T {
        try need(MemoryLayout<T>.size, context())
        let v = T(littleEndian: base.loadUnaligned(fromByteOffset: position, as: T.self))
        position += MemoryLayout<T>.size
        return v
    }

    mutating func bytes(_ n: Int, _ context: @autoclosure () -> String) throws(GGUFError) -> [UInt8] {
        try need(n, context())
        let out = [UInt8](UnsafeRawBufferPointer(start: base + position, count: n))
        position += n
        return out
    }

    mutating func string(_ context: @autoclosure () -> String) throws(GGUFError) -> String {
        let ctx = context()
        let n: UInt64 = try scalar("length of \(ctx)")
        guard n <= UInt64(size - position) else { throw .truncated(file: file, at: position, needed: Int(clamping: n) - (size - position), context: ctx) }
        let buf = UnsafeRawBufferPointer(start: base + position, count: Int(n))
        position += Int(n)
        guard let s = String(validating: buf, as: UTF8.self) else { throw .invalidString(file: file, context: ctx) }
        return s
    }

    mutating func value(_ type: GGUFValueType, key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        let ctx = "value of '\(key)'"
        switch type {
        case .uint8: return .uint8(try scalar(ctx))
        case .int8: return .int8(try scalar(ctx))
        case .uint16: return .uint16(try scalar(ctx))
        case .int16: return .int16(try scalar(ctx))
        case .uint32: return .uint32(try scalar(ctx))
        case .int32: return .int32(try scalar(ctx))
        case .uint64: return .uint64(try scalar(ctx))
        case .int64: return .int64(try scalar(ctx))
        case .float32: return .float32(Float(bitPattern: try scalar(ctx)))
        case .float64: return .float64(Double(bitPattern: try scalar(ctx)))
        case .bool:
            let b: UInt8 = try scalar(ctx)
            return .bool(b != 0)
        case .string: return .string(try string(ctx))
        case .array:
            guard depth < 8 else { throw .invalidValueType(file: file, key: key, raw: GGUFValueType.array.rawValue) }
            let rawElem: UInt32 = try scalar("element type of '\(key)'")
            guard let elem = GGUFValueType(rawValue: rawElem) else { throw .invalidValueType(file: file, key: key, raw: rawElem) }
            let count: UInt64 = try scalar("element count of '\(key)'")
            guard count <= UInt64(size - position) else { throw .implausibleCount(file: file, context: "array '\(key)'", count: count) }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { items.append(try value(elem, key: key, depth: depth + 1)) }
            return .array(elementType: elem, items)
        }
    }
}
