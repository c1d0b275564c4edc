/// The character classes the pre-tokenizer patterns test, per Unicode scalar, as llama.cpp
/// defines them (`unicode_cpt_flags`): `\p{L}`, `\p{N}` and `\p{P}` are the general categories
/// L*, N* and P*; `\s` is the White_Space property (llama.cpp's `unicode_set_whitespace`).
///
/// The categories are those of Unicode 15.1, the version of llama.cpp's generated tables
/// (`unicode-data.cpp`): characters added later are unassigned for llama.cpp, and so here,
/// whatever the Swift runtime's own Unicode version.
///
/// One byte of flags per scalar; the classification runs once per scalar of the input.
struct ScalarClass: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = ScalarClass(rawValue: 1 << 0)
    static let number = ScalarClass(rawValue: 1 << 1)
    static let whitespace = ScalarClass(rawValue: 1 << 2)
    static let punctuation = ScalarClass(rawValue: 1 << 3)

    @inline(__always)
    static func of(_ value: UInt32) -> ScalarClass {
        if value < 128 { return asciiTable[Int(value)] }
        return nonASCII(value)
    }

    /// ASCII is most of every input; a table lookup avoids the general-category query.
    private static let asciiTable: [ScalarClass] = (0..<128).map { nonASCIIRules(UInt32($0)) }

    private static func nonASCII(_ value: UInt32) -> ScalarClass { nonASCIIRules(value) }

    private static func nonASCIIRules(_ value: UInt32) -> ScalarClass {
        if isWhitespace(value) { return .whitespace }
        guard let scalar = Unicode.Scalar(value) else { return [] }
        let properties = scalar.properties
        // llama.cpp's tables stop at Unicode 15.1; later characters are unassigned there.
        if let age = properties.age, age.major > 15 { return [] }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return .punctuation
        default:
            return []
        }
    }

    /// Unicode's White_Space set, spelled out rather than taken from the runtime so that the
    /// split does not depend on the Swift version's Unicode tables.
    @inline(__always)
    static func isWhitespace(_ v: UInt32) -> Bool {
        switch v {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }
}
