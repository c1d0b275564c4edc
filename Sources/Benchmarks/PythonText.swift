/// Python `str` operations with Python's semantics, on Unicode scalars (code points).
///
/// The scorers we reproduce are Python code: they index, split and compare strings by code
/// point, while Swift's `String` works on grapheme clusters and compares by canonical
/// equivalence. Working on `[Unicode.Scalar]` keeps, e.g., `len(choice)` for `acc_norm` and
/// `s[0] == "."` in `strip_string` exactly as Python computes them.
enum PythonText {
    typealias Scalars = [Unicode.Scalar]

    /// `str.isspace()` for one character (also what `str.split()` and `str.strip()` split on).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// `\d` in a Python `re` str pattern: a Unicode decimal digit (category Nd).
    static func isDecimalDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .decimalNumber
    }

    /// `\w` in a Python `re` str pattern: `str.isalnum()` or `_`.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return scalar.properties.numericType != nil
        }
    }

    /// `str.isalpha()` for one character.
    static func isAlpha(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return false
        }
    }

    /// The characters of `string.punctuation`.
    static let asciiPunctuation: Set<Unicode.Scalar> = Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".unicodeScalars)

    static func scalars(_ text: String) -> Scalars { Array(text.unicodeScalars) }

    static func string(_ scalars: some Sequence<Unicode.Scalar>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    /// `a == b` as Python compares strings: code point by code point.
    static func equal(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.elementsEqual(b.unicodeScalars)
    }

    /// `len(s)`.
    static func length(_ text: String) -> Int { text.unicodeScalars.count }

    /// `s.strip()`.
    static func strip(_ text: String) -> String {
        string(strip(scalars(text), where: isSpace))
    }

    /// `s.strip(chars)`, `s.lstrip(chars)` or `s.rstrip(chars)`.
    static func strip(_ text: String, characters: String, leading: Bool = true, trailing: Bool = true) -> String {
        let set = Set(characters.unicodeScalars)
        return string(strip(scalars(text), where: { set.contains($0) }, leading: leading, trailing: trailing))
    }

    static func strip(_ text: Scalars, where predicate: (Unicode.Scalar) -> Bool,
                      leading: Bool = true, trailing: Bool = true) -> Scalars {
        var start = 0
        var end = text.count
        if leading { while start < end && predicate(text[start]) { start += 1 } }
        if trailing { while end > start && predicate(text[end - 1]) { end -= 1 } }
        return Array(text[start..<end])
    }

    /// `s.split()`: runs of whitespace separate, empty pieces dropped.
    static func splitWhitespace(_ text: String) -> [String] {
        var pieces: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isSpace(scalar) {
                if !current.isEmpty { pieces.append(String(current)); current = String.UnicodeScalarView() }
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { pieces.append(String(current)) }
        return pieces
    }

    /// Offset of the first occurrence of `needle` at or after `from`, like `s.find(sub, start)`.
    static func find(_ haystack: Scalars, _ needle: Scalars, from start: Int = 0) -> Int? {
        guard !needle.isEmpty else { return start <= haystack.count ? start : nil }
        guard haystack.count >= needle.count else { return nil }
        var index = max(0, start)
        while index + needle.count <= haystack.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// Offset of the last occurrence of `needle`, like `s.rfind(sub)`.
    static func rfind(_ haystack: Scalars, _ needle: Scalars) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        guard let first = needle.first else { return haystack.count }
        var index = haystack.count - needle.count
        while index >= 0 {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index -= 1
        }
        return nil
    }

    /// `sub in s`.
    static func contains(_ haystack: Scalars, _ needle: String) -> Bool {
        find(haystack, scalars(needle)) != nil
    }

    /// `s.replace(old, new)`: every non-overlapping occurrence, left to right.
    static func replace(_ text: Scalars, _ old: String, _ new: String) -> Scalars {
        let oldScalars = scalars(old)
        guard !oldScalars.isEmpty, var next = find(text, oldScalars) else { return text }
        let newScalars = scalars(new)
        var result: Scalars = []
        result.reserveCapacity(text.count)
        var start = 0
        while true {
            result.append(contentsOf: text[start..<next])
            result.append(contentsOf: newScalars)
            start = next + oldScalars.count
            guard let found = find(text, oldScalars, from: start) else { break }
            next = found
        }
        result.append(contentsOf: text[start...])
        return result
    }

    /// `s.split(sep)` with a non-empty separator.
    static func split(_ text: Scalars, _ separator: String) -> [Scalars] {
        let sep = scalars(separator)
        var pieces: [Scalars] = []
        var start = 0
        while let found = find(text, sep, from: start) {
            pieces.append(Array(text[start..<found]))
            start = found + sep.count
        }
        pieces.append(Array(text[start...]))
        return pieces
    }

    /// `str(int(s))` when `int(s)` would succeed, else nil.
    ///
    /// Python's `int()` accepts surrounding whitespace, a sign, any Unicode decimal digits and
    /// single underscores between digits; `str()` then prints ASCII digits without leading zeros.
    static func canonicalInteger(_ text: Scalars) -> String? {
        let body = strip(text, where: isSpace)
        guard !body.isEmpty else { return nil }
        var index = 0
        var negative = false
        if body[0] == "+" || body[0] == "-" { negative = body[0] == "-"; index = 1 }
        var digits: [UInt8] = []
        var previousWasDigit = false
        while index < body.count {
            let scalar = body[index]
            if scalar == "_" {
                guard previousWasDigit, index + 1 < body.count, isDecimalDigit(body[index + 1]) else { return nil }
                previousWasDigit = false
            } else if isDecimalDigit(scalar), let value = scalar.properties.numericValue {
                digits.append(UInt8(value))
                previousWasDigit = true
            } else {
                return nil
            }
            index += 1
        }
        guard !digits.isEmpty else { return nil }
        let significant = digits.drop(while: { $0 == 0 })
        if significant.isEmpty { return "0" }
        return (negative ? "-" : "") + String(significant.map { Character(String($0)) })
    }
}
