/// GPT-2's reversible byte ↔ character mapping ("bytes_to_unicode").
///
/// Byte-level BPE vocabularies never contain raw bytes: every byte is stored as one printable
/// Unicode scalar, so that vocabulary and merge strings are valid text without spaces or control
/// characters. Printable Latin-1 bytes stand for themselves; the 68 others (controls, space,
/// 0x7F–0xA0, soft hyphen) are moved, in byte order, to U+0100 and up (space becomes "Ġ", "\n" "Ċ").
enum ByteLevel {
    /// The scalar standing for each byte.
    static let scalarOfByte: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var moved: UInt32 = 0
        for byte in 0..<256 {
            if standsForItself(UInt8(byte)) {
                table[byte] = Unicode.Scalar(UInt32(byte))!
            } else {
                table[byte] = Unicode.Scalar(256 + moved)!
                moved += 1
            }
        }
        return table
    }()

    /// The byte a scalar stands for, or nil for scalars outside the mapping.
    @inline(__always)
    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        if v < 256 { return standsForItself(UInt8(v)) ? UInt8(v) : nil }
        guard v < 256 + 68 else { return nil }
        return byteOfMovedScalar[Int(v - 256)]
    }

    /// The bytes of a byte-level string, or nil when some scalar is outside the mapping
    /// (such a string can never be produced by encoding text, e.g. "<｜end▁of▁sentence｜>").
    static func bytes(of text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            guard let b = byte(of: scalar) else { return nil }
            out.append(b)
        }
        return out
    }

    /// The byte-level spelling of raw bytes.
    static func text(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarOfByte[Int(b)]) }
        return String(s)
    }

    @inline(__always)
    private static func standsForItself(_ b: UInt8) -> Bool {
        (0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)
    }

    /// Inverse of the moved part of `scalarOfByte`: entry k is the byte mapped to U+0100 + k.
    private static let byteOfMovedScalar: [UInt8] = {
        var out: [UInt8] = []
        for byte in 0..<256 where !standsForItself(UInt8(byte)) { out.append(UInt8(byte)) }
        return out
    }()
}
