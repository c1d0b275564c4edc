import Foundation
import Support

/// The on-disk format of a `RouterSet` (`*.routers`), version 1.
///
/// ```
/// offset  size  content
/// 0       8     magic "DRLLMRTR" (ASCII)
/// 8       4     format version, UInt32 little-endian (1)
/// 12      4     header length H in bytes, UInt32 little-endian (a multiple of 16)
/// 16      H     JSON header, UTF-8, sorted keys, padded with spaces to H bytes
/// 16+H    4·L·P weights, float32 little-endian: router 0, router 1, …; each router's P floats
///               in `RouterParameterLayout` order (w1[bottleneck][width], b1, w2[3][bottleneck], b2)
/// ```
///
/// The header holds the format name (`drllm-routers`), the hyper-parameters (`layerCount`,
/// `width`, `bottleneck`, `windows`, `classes` = 3), the parameter layout in words, the weights'
/// byte count and CRC-32 (IEEE, hex), the optional decision `bias`, and the provenance. Loading
/// checks, in order: preamble length, magic, version (newer versions are refused), header JSON,
/// hyper-parameters, total file size (truncation or trailing bytes), and the CRC-32. Weights are
/// stored as raw bit patterns, so a write–read round trip is bitwise exact; the header is
/// written with sorted keys, so the same router set always produces the same bytes.
public enum RouterSetFile {
    /// The 8 magic bytes at the start of every router file.
    public static let magicString = "DRLLMRTR"
    /// The format version this build writes and the newest it reads.
    public static let version: UInt32 = 1
    /// The `format` field of the JSON header.
    public static let formatName = "drllm-routers"
    /// Bytes before the JSON header.
    public static let preambleBytes = 16

    static let layoutDescription =
        "per router: w1[bottleneck][width] row-major, b1[bottleneck], w2[3][bottleneck], b2[3]; float32 little-endian; routers in layer order"

    struct Header: Codable {
        var format: String
        var layerCount: Int
        var width: Int
        var bottleneck: Int
        var windows: Int
        var classes: Int
        var parameterLayout: String
        var weightsBytes: Int
        var weightsCRC32: String
        var bias: [Float]?
        var provenance: RouterProvenance
    }

    /// Serialises `set` into the file format.
    public static func encode(_ set: RouterSet) throws(RoutingError) -> Data {
        let hp = set.hyperParameters
        let weightCount = hp.layerCount * hp.parametersPerRouter
        var weights = [UInt8](repeating: 0, count: weightCount * 4)
        weights.withUnsafeMutableBytes { raw in
            var offset = 0
            for router in set.routers {
                for v in router.parameters {
                    raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: offset, as: UInt32.self)
                    offset += 4
                }
            }
        }
        let bias: [Float]? = set.bias == .zero ? nil : [set.bias[0], set.bias[1], set.bias[2]]
        if let bias, bias.contains(where: { !$0.isFinite }) {
            throw .unwritableFile(path: set.source, reason: "bias \(bias) is not finite")
        }
        if let bad = set.provenance.metrics.first(where: { !$0.value.isFinite }) {
            throw .unwritableFile(path: set.source, reason: "metric '\(bad.key)' is \(bad.value); metrics must be finite")
        }
        let header = Header(format: formatName, layerCount: hp.layerCount, width: hp.width,
                            bottleneck: hp.bottleneck, windows: hp.windows, classes: Router.classCount,
                            parameterLayout: layoutDescription, weightsBytes: weights.count,
                            weightsCRC32: hex(crc32(weights)), bias: bias, provenance: set.provenance)
        var json: Data
        do { json = try CanonicalJSON.encoder(pretty: true).encode(header) } catch {
            throw .unwritableFile(path: set.source, reason: "cannot encode header: \(error)")
        }
        json.append(0x0A)
        // Pad so the weights start 16-byte aligned (handy for mapping the file); spaces are JSON whitespace.
        while json.count % 16 != 0 { json.append(0x20) }

        var out = Data()
        out.reserveCapacity(preambleBytes + json.count + weights.count)
        out.append(contentsOf: Array(magicString.utf8))
        appendUInt32(&out, version)
        appendUInt32(&out, UInt32(json.count))
        out.append(json)
        out.append(contentsOf: weights)
        return out
    }

    /// Parses a router file's bytes; `source` names the file in errors and becomes `set.source`.
    public static func decode(_ data: Data, source: String) throws(RoutingError) -> RouterSet {
        let bytes = [UInt8](data)
        guard bytes.count >= preambleBytes else {
            throw .fileTooShort(path: source, bytes: bytes.count, minimum: preambleBytes)
        }
        let magic = Array(bytes[0..<8])
        guard magic == Array(magicString.utf8) else {
            let shown = String(decoding: magic.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
            throw .badMagic(path: source, found: shown)
        }
        let fileVersion = readUInt32(bytes, at: 8)
        guard fileVersion >= 1 && fileVersion <= version else {
            throw .unsupportedVersion(path: source, found: fileVersion, supported: version)
        }
        let headerLength = Int(readUInt32(bytes, at: 12))
        guard preambleBytes + headerLength <= bytes.count else {
            throw .sizeMismatch(path: source, expectedBytes: preambleBytes + headerLength, actualBytes: bytes.count)
        }
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(bytes[preambleBytes..<(preambleBytes + headerLength)]))
        } catch {
            throw .malformedHeader(path: source, reason: describe(error))
        }
        guard header.format == formatName else {
            throw .malformedHeader(path: source, reason: "format is '\(header.format)', expected '\(formatName)'")
        }
        guard header.classes == Router.classCount else {
            throw .malformedHeader(path: source, reason: "classes is \(header.classes), expected \(Router.classCount)")
        }
        let hp = RouterHyperParameters(layerCount: header.layerCount, width: header.width,
                                       bottleneck: header.bottleneck, windows: header.windows)
        try hp.check(source: source)
        let perRouter = hp.parametersPerRouter
        let (weightCount, overflow) = hp.layerCount.multipliedReportingOverflow(by: perRouter)
        guard !overflow, weightCount <= Int.max / 8 else {
            throw .invalidHyperParameters(source: source, reason: "\(hp.layerCount) × \(perRouter) parameters is too large")
        }
        guard header.weightsBytes == weightCount * 4 else {
            throw .malformedHeader(path: source,
                                   reason: "weightsBytes is \(header.weightsBytes), but the hyper-parameters need \(weightCount * 4)")
        }
        let expectedSize = preambleBytes + headerLength + weightCount * 4
        guard bytes.count == expectedSize else {
            throw .sizeMismatch(path: source, expectedBytes: expectedSize, actualBytes: bytes.count)
        }
        let weightBytes = bytes[(preambleBytes + headerLength)...]
        let crc = hex(crc32(weightBytes))
        guard crc == header.weightsCRC32.lowercased() else {
            throw .checksumMismatch(path: source, expected: header.weightsCRC32, actual: crc)
        }
        var routers: [Router] = []
        routers.reserveCapacity(hp.layerCount)
        var offset = preambleBytes + headerLength
        for l in 0..<hp.layerCount {
            var p = [Float](repeating: 0, count: perRouter)
            for i in 0..<perRouter {
                p[i] = Float(bitPattern: readUInt32(bytes, at: offset))
                offset += 4
            }
            routers.append(try Router(width: hp.width, bottleneck: hp.bottleneck, parameters: p, source: source, layer: l))
        }
        var bias = SIMD3<Float>.zero
        if let b = header.bias {
            guard b.count == Router.classCount, b.allSatisfy(\.isFinite) else {
                throw .malformedHeader(path: source, reason: "bias must be 3 finite numbers, found \(b)")
            }
            bias = SIMD3(b[0], b[1], b[2])
        }
        return try RouterSet(hyperParameters: hp, routers: routers, provenance: header.provenance, bias: bias, source: source)
    }

    // MARK: - Implementation

    static func appendUInt32(_ data: inout Data, _ v: UInt32) {
        let le = v.littleEndian
        withUnsafeBytes(of: le) { data.append(contentsOf: $0) }
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case let DecodingError.keyNotFound(key, _): return "missing field '\(key.stringValue)'"
        case let DecodingError.typeMismatch(_, ctx), let DecodingError.valueNotFound(_, ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return "field '\(path)': \(ctx.debugDescription)"
        case let DecodingError.dataCorrupted(ctx): return "not valid JSON: \(ctx.debugDescription)"
        default: return "\(error)"
        }
    }

    static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 (IEEE 802.3, as zlib's `crc32`).
    static func crc32<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        crcTable.withUnsafeBufferPointer { table in
            for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }

    static func hex(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }
}

extension RouterSet {
    /// Reads a router file (see `RouterSetFile` for the format and the checks made).
    public static func load(from path: String) throws(RoutingError) -> RouterSet {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadableFile(path: path, reason: (error as NSError).localizedDescription)
        }
        return try RouterSetFile.decode(data, source: path)
    }

    /// Writes this set to `path` atomically (a temporary file renamed into place).
    public func write(to path: String) throws(RoutingError) {
        var named = self
        named.source = path
        let data = try RouterSetFile.encode(named)
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw .unwritableFile(path: path, reason: (error as NSError).localizedDescription)
        }
    }
}
