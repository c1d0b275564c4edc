import Foundation

// MARK: - MathRuler `grade_answer` (Dr.LLM's DART grader)

extension AnswerChecking {
    /// MathRuler `grade_answer(given, ground_truth)`, the grader Dr.LLM uses for DART.
    ///
    /// True when (a) both sides are equal after the mathd normalisation, or (b) equal after
    /// MathRuler's second normalisation, or (c) element-wise (tuples and intervals, brackets must
    /// match) mathematically equal. Unreduced fractions must match exactly and an integer ground
    /// truth needs an integer answer, as in MathRuler.
    ///
    /// One deliberate difference: MathRuler decides (c) with `sympy.simplify(a - b) == 0`; here
    /// both sides are evaluated as real expressions (numbers, `+ - * / ^`, `sqrt`, `pi`, `!`,
    /// implicit multiplication, up to two free variables) at three fixed points and compared with
    /// a relative tolerance of 1e-9. That agrees with sympy on numeric answers such as
    /// `\frac{1}{2}` vs `0.5` and on polynomial identities; it cannot prove identities that
    /// need symbolic rewriting beyond evaluation (none occur in 15-token direct answers).
    public static func gradeMathAnswer(given: String?, groundTruth: String) -> Bool {
        guard let given else { return false }
        if PythonText.equal(mathdNormalize(groundTruth), mathdNormalize(given)) { return true }

        let truth = mathRulerNormalize(groundTruth)
        let answer = mathRulerNormalize(given)
        if PythonText.equal(truth, answer) { return true }
        if answer.isEmpty { return false }

        let truthElements = splitTuple(truth)
        let answerElements = splitTuple(answer)
        let truthScalars = PythonText.scalars(truth), answerScalars = PythonText.scalars(answer)
        if truthElements.count > 1 && (truthScalars.first != answerScalars.first || truthScalars.last != answerScalars.last) {
            return false
        }
        guard truthElements.count == answerElements.count, !truthElements.isEmpty else { return false }
        for (truthElement, answerElement) in zip(truthElements, answerElements) {
            let correct: Bool
            if isFraction(truthElement) && isFraction(answerElement) {
                correct = PythonText.equal(truthElement, answerElement)
            } else if stringIsInteger(truthElement) != stringIsInteger(answerElement) {
                correct = false
            } else {
                correct = areNumericallyEqual(truthElement, answerElement)
            }
            if !correct { return false }
        }
        return true
    }

    /// MathRuler `_normalize`: strips `\text{}`, `$`, `%`, unit words and `^\circ`, renders LaTeX
    /// to text (`\frac{a}{b}` → `a/b`, `\sqrt{x}` → `sqrt(x)`, `\pi` → `pi`), makes integer-valued
    /// numbers integers, joins mixed numbers, lower-cases and drops spaces and braces.
    public static func mathRulerNormalize(_ input: String) -> String {
        var expr = textWrappedContent(input) ?? input
        var s = PythonText.scalars(expr)
        s = PythonText.replace(s, "\\%", "%")
        s = PythonText.replace(s, "\\$", "$")
        s = PythonText.replace(s, "$", "")
        s = PythonText.replace(s, "%", "")
        s = PythonText.replace(s, " or ", " , ")
        s = PythonText.replace(s, " and ", " , ")
        s = PythonText.replace(s, "million", "*10^6")
        s = PythonText.replace(s, "billion", "*10^9")
        s = PythonText.replace(s, "trillion", "*10^12")
        for unit in ["degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day", "week",
                     "month", "year", "foot", "feet", "inch", "yard"] {
            s = removeUnit(s, unit)
        }
        s = removeCirc(s)
        if s.count > 0 && s.first == "{" && s.last == "}" { s = Array(s.dropFirst().dropLast()) }
        s = removeThinSpaceAfterComma(s)
        expr = PythonText.string(s)
        if let value = pythonFloat(PythonText.scalars(expr)), isIntegerValued(value), let integer = pythonIntString(value.rounded(.toNearestOrEven)) {
            expr = integer
        }
        if expr.unicodeScalars.contains("\\") { expr = latexToText(expr) }
        s = PythonText.scalars(expr)
        s = collapseSpacesAfterMinus(s)
        s = injectImplicitMixedNumber(s)
        s = s.filter { $0 != " " && $0 != "{" && $0 != "}" }
        expr = PythonText.string(s).lowercased()
        if stringIsInteger(expr) {
            let noCommas = PythonText.replace(PythonText.scalars(expr), ",", "")
            if let value = pythonFloat(noCommas), let integer = pythonIntString(value.rounded(.towardZero)) { expr = integer }
        }
        return expr
    }

    // MARK: Normalisation pieces

    /// `re.sub(rf"{unit}(es)?(s)? *(\^[0-9]+)?", "", s)`.
    private static func removeUnit(_ s: [Unicode.Scalar], _ unit: String) -> [Unicode.Scalar] {
        let u = PythonText.scalars(unit)
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            guard index + u.count <= s.count, s[index..<(index + u.count)].elementsEqual(u) else {
                result.append(s[index]); index += 1; continue
            }
            var end = index + u.count
            if end + 1 < s.count && s[end] == "e" && s[end + 1] == "s" { end += 2 }
            if end < s.count && s[end] == "s" { end += 1 }
            while end < s.count && s[end] == " " { end += 1 }
            if end + 1 < s.count && s[end] == "^" && isASCIIDigit(s[end + 1]) {
                end += 1
                while end < s.count && isASCIIDigit(s[end]) { end += 1 }
            }
            index = end
        }
        return result
    }

    /// `re.sub(r"\^ *\\circ", "", s)`.
    private static func removeCirc(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let circ = PythonText.scalars("\\circ")
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            if s[index] == "^" {
                var end = index + 1
                while end < s.count && s[end] == " " { end += 1 }
                if end + circ.count <= s.count && s[end..<(end + circ.count)].elementsEqual(circ) {
                    index = end + circ.count
                    continue
                }
            }
            result.append(s[index])
            index += 1
        }
        return result
    }

    /// `re.sub(",\\\\! *", "", s)`: a thousands separator written `,\!` and the spaces after it.
    private static func removeThinSpaceAfterComma(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            if index + 2 < s.count && s[index] == "," && s[index + 1] == "\\" && s[index + 2] == "!" {
                index += 3
                while index < s.count && s[index] == " " { index += 1 }
                continue
            }
            result.append(s[index])
            index += 1
        }
        return result
    }

    /// `re.sub("- *", "-", s)`.
    private static func collapseSpacesAfterMinus(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            result.append(s[index])
            if s[index] == "-" {
                index += 1
                while index < s.count && s[index] == " " { index += 1 }
                continue
            }
            index += 1
        }
        return result
    }

    /// `_inject_implicit_mixed_number`: `re.sub("([0-9]) +([0-9])", "\\1+\\2", s)` (`7 3/4` → `7+3/4`).
    private static func injectImplicitMixedNumber(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            if isASCIIDigit(s[index]) {
                var end = index + 1
                while end < s.count && s[end] == " " { end += 1 }
                if end > index + 1 && end < s.count && isASCIIDigit(s[end]) {
                    result += [s[index], "+", s[end]]
                    index = end + 1
                    continue
                }
            }
            result.append(s[index])
            index += 1
        }
        return result
    }

    /// `_strip_properly_formatted_commas`: `1,000,000` → `1000000`, leaving tuple commas alone.
    static func stripProperlyFormattedCommas(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var s = input
        while true {
            var result: [Unicode.Scalar] = []
            var index = 0
            var changed = false
            while index < s.count {
                if index + 4 < s.count, PythonText.isDecimalDigit(s[index]), s[index + 1] == ",",
                   PythonText.isDecimalDigit(s[index + 2]), PythonText.isDecimalDigit(s[index + 3]), PythonText.isDecimalDigit(s[index + 4]) {
                    let after = index + 5
                    let atEnd = after == s.count || (after == s.count - 1 && s[after] == "\n")
                    if atEnd {
                        result += [s[index], s[index + 2], s[index + 3], s[index + 4]]
                        index = after; changed = true; continue
                    }
                    if !PythonText.isDecimalDigit(s[after]) {
                        result += [s[index], s[index + 2], s[index + 3], s[index + 4], s[after]]
                        index = after + 1; changed = true; continue
                    }
                }
                result.append(s[index])
                index += 1
            }
            if !changed { return s }
            s = result
        }
    }

    /// `split_tuple`: the elements of `(a,b)` or `[a,b)` style answers, else the answer itself.
    static func splitTuple(_ expr: String) -> [String] {
        let s = stripProperlyFormattedCommas(PythonText.scalars(expr))
        if s.isEmpty { return [] }
        let brackets: Set<Unicode.Scalar> = ["(", ")", "[", "]"]
        if s.count > 2, brackets.contains(s.first!), brackets.contains(s.last!), !s.dropFirst().dropLast().contains(where: brackets.contains) {
            return PythonText.split(Array(s.dropFirst().dropLast()), ",").map { PythonText.string(PythonText.strip($0, where: PythonText.isSpace)) }
        }
        return [PythonText.string(s)]
    }

    /// `_is_frac`: `re.search(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$", expr)`.
    static func isFraction(_ expr: String) -> Bool {
        var s = PythonText.scalars(expr)
        let candidates: [[Unicode.Scalar]] = s.last == "\n" ? [s, Array(s.dropLast())] : [s]
        for candidate in candidates {
            s = candidate
            for slash in s.indices where s[slash] == "/" {
                if numeratorMatches(s[..<slash]) && denominatorMatches(s[(slash + 1)...]) { return true }
            }
        }
        return false
    }

    /// `-?[0-9]+.?` as a whole.
    private static func numeratorMatches(_ part: ArraySlice<Unicode.Scalar>) -> Bool {
        func digitsThenOptionalChar(_ p: ArraySlice<Unicode.Scalar>) -> Bool {
            guard !p.isEmpty, !p.contains("\n") else { return false }
            if p.allSatisfy(isASCIIDigit) { return true }
            return p.count >= 2 && p.dropLast().allSatisfy(isASCIIDigit)
        }
        if part.first == "-" && digitsThenOptionalChar(part.dropFirst()) { return true }
        return digitsThenOptionalChar(part)
    }

    /// `0*[1-9][0-9]*.?` as a whole.
    private static func denominatorMatches(_ part: ArraySlice<Unicode.Scalar>) -> Bool {
        func positiveDigits(_ p: ArraySlice<Unicode.Scalar>) -> Bool {
            !p.isEmpty && p.allSatisfy(isASCIIDigit) && p.contains(where: { $0 != "0" })
        }
        if part.contains("\n") { return false }
        return positiveDigits(part) || (part.count >= 2 && positiveDigits(part.dropLast()))
    }

    /// `_str_is_int`: parses as a float (after stripping thousands commas) within 1e-7 of an integer.
    static func stringIsInteger(_ expr: String) -> Bool {
        guard let value = pythonFloat(stripProperlyFormattedCommas(PythonText.scalars(expr))) else { return false }
        return isIntegerValued(value)
    }

    /// `abs(x - int(round(x))) <= 1e-7`, false for infinities and NaN (Python raises there).
    private static func isIntegerValued(_ value: Double) -> Bool {
        value.isFinite && abs(value - value.rounded(.toNearestOrEven)) <= 1e-7
    }

    private static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    /// Python's `float(s)`: surrounding whitespace, sign, digits with single underscores between
    /// them (any Unicode decimal digits), optional fraction and exponent, or inf/infinity/nan.
    static func pythonFloat(_ text: [Unicode.Scalar]) -> Double? {
        let body = PythonText.strip(text, where: PythonText.isSpace)
        guard !body.isEmpty else { return nil }
        var ascii = ""
        var index = 0
        if body[0] == "+" || body[0] == "-" { ascii.append(Character(body[0])); index = 1 }
        let word = PythonText.string(body[index...]).lowercased()
        if word == "inf" || word == "infinity" { return ascii == "-" ? -.infinity : .infinity }
        if word == "nan" { return .nan }

        func digits(_ required: Bool) -> Bool {
            var count = 0
            var previousDigit = false
            while index < body.count {
                let scalar = body[index]
                if PythonText.isDecimalDigit(scalar), let value = scalar.properties.numericValue {
                    ascii.append(Character(String(Int(value))))
                    previousDigit = true
                    count += 1
                } else if scalar == "_" && previousDigit && index + 1 < body.count && PythonText.isDecimalDigit(body[index + 1]) {
                    previousDigit = false
                } else {
                    break
                }
                index += 1
            }
            return count > 0 || !required
        }
        let hasInteger = digits(false) && ascii.last.map { $0.isNumber } == true
        var hasFraction = false
        if index < body.count && body[index] == "." {
            ascii.append(".")
            index += 1
            let before = ascii.count
            _ = digits(false)
            hasFraction = ascii.count > before
        }
        guard hasInteger || hasFraction else { return nil }
        if index < body.count && (body[index] == "e" || body[index] == "E") {
            ascii.append("e")
            index += 1
            if index < body.count && (body[index] == "+" || body[index] == "-") { ascii.append(Character(body[index])); index += 1 }
            guard digits(true) else { return nil }
        }
        guard index == body.count else { return nil }
        return Double(ascii)
    }

    /// `str(int(x))` for an integer-valued double, exactly (also beyond 2^63).
    static func pythonIntString(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        if value == 0 { return "0" }
        if abs(value) < 9.0e18 { return String(Int64(value)) }
        // value = significand × 2^exponent with an integral significand; multiply out in base 1e9.
        var limbs: [UInt64] = [UInt64(abs(value).significandBitPattern | (1 << 52))]
        var exponent = Int(abs(value).exponent) - 52
        func normalise() {
            var carry: UInt64 = 0
            for i in limbs.indices {
                let v = limbs[i] + carry
                limbs[i] = v % 1_000_000_000
                carry = v / 1_000_000_000
            }
            while carry > 0 { limbs.append(carry % 1_000_000_000); carry /= 1_000_000_000 }
        }
        normalise()
        while exponent > 0 {
            for i in limbs.indices { limbs[i] *= 2 }
            normalise()
            exponent -= 1
        }
        var text = String(limbs.last!)
        for limb in limbs.dropLast().reversed() {
            let part = String(limb)
            text += String(repeating: "0", count: 9 - part.count) + part
        }
        return (value < 0 ? "-" : "") + text
    }

    // MARK: LaTeX to text (the part of pylatexenc 2.10 that `_parse_latex` relies on)

    /// MathRuler `_parse_latex` with pylatexenc 2.10's default rules for the macros that occur in
    /// answers: `\frac{a}{b}` → `a/b` (no parentheses, as pylatexenc), `\sqrt{x}` → `sqrt(x)`,
    /// `\pi` → `pi`, `\cdot`/`\times` → `*`, `\infty` → `inf`, `\cup` → `U`; groups lose their
    /// braces, `$` disappears, and unknown macros are dropped (their `{…}` argument stays as text).
    static func latexToText(_ input: String) -> String {
        var s = PythonText.scalars(input)
        s = PythonText.replace(s, "\\tfrac", "\\frac")
        s = PythonText.replace(s, "\\dfrac", "\\frac")
        s = PythonText.replace(s, "\\frac", " \\frac")
        var index = 0
        var text = renderLatex(s, &index, stopAtBrace: false)
        for (symbol, replacement) in [("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*")] {
            text = PythonText.replace(text, symbol, replacement)
        }
        return PythonText.string(PythonText.strip(text, where: PythonText.isSpace))
    }

    private static let latexSymbols: [String: String] = [
        "pi": "π", "cdot": "·", "times": "×", "infty": "∞", "cup": "∪", "circ": "∘", "le": "≤", "leq": "≤",
        "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "pm": "±", "div": "÷", "alpha": "α", "beta": "β",
        "gamma": "γ", "delta": "δ", "theta": "θ", "lambda": "λ", "mu": "μ", "sigma": "σ", "phi": "φ", "omega": "ω",
    ]

    private static func renderLatex(_ s: [Unicode.Scalar], _ index: inout Int, stopAtBrace: Bool) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        while index < s.count {
            let scalar = s[index]
            switch scalar {
            case "}" where stopAtBrace:
                index += 1
                return out
            case "{":
                index += 1
                out += renderLatex(s, &index, stopAtBrace: true)
            case "$":
                index += 1
            case "%":
                // A comment runs to the end of the line.
                while index < s.count && s[index] != "\n" { index += 1 }
            case "~":
                out.append("\u{A0}")
                index += 1
            case "\\":
                index += 1
                guard index < s.count else { break }
                if PythonText.isAlpha(s[index]) && s[index].isASCII {
                    var name = ""
                    while index < s.count && s[index].isASCII && PythonText.isAlpha(s[index]) {
                        name.unicodeScalars.append(s[index]); index += 1
                    }
                    out += renderMacro(name, s, &index)
                } else {
                    let escaped = s[index]
                    index += 1
                    switch escaped {
                    case ",", ";", ":", " ", "!": out.append(" ")
                    case "\\": out.append("\n")
                    default: out.append(escaped)
                    }
                }
            default:
                out.append(scalar)
                index += 1
            }
        }
        return out
    }

    private static func renderMacro(_ name: String, _ s: [Unicode.Scalar], _ index: inout Int) -> [Unicode.Scalar] {
        func argument() -> [Unicode.Scalar] {
            while index < s.count && PythonText.isSpace(s[index]) { index += 1 }
            guard index < s.count else { return [] }
            if s[index] == "{" {
                index += 1
                return renderLatex(s, &index, stopAtBrace: true)
            }
            if s[index] == "\\" {
                // A macro as the whole argument, e.g. `\frac\pi2`.
                index += 1
                guard index < s.count else { return [] }
                if s[index].isASCII && PythonText.isAlpha(s[index]) {
                    var name = ""
                    while index < s.count && s[index].isASCII && PythonText.isAlpha(s[index]) { name.unicodeScalars.append(s[index]); index += 1 }
                    return renderMacro(name, s, &index)
                }
                defer { index += 1 }
                return [s[index]]
            }
            defer { index += 1 }
            return [s[index]]
        }
        switch name {
        case "frac", "nicefrac", "textfrac":
            let numerator = argument()
            let denominator = argument()
            return numerator + ["/"] + denominator
        case "sqrt":
            while index < s.count && PythonText.isSpace(s[index]) { index += 1 }
            if index < s.count && s[index] == "[" {
                while index < s.count && s[index] != "]" { index += 1 }
                index += 1
            }
            return ["√", "("] + argument() + [")"]
        default:
            if let symbol = latexSymbols[name] { return PythonText.scalars(symbol) }
            return []
        }
    }

    // MARK: Numeric equivalence (stands in for sympy)

    /// MathRuler's `should_allow_eval` on `(a)-(b)`: at most two unknown letters, no `^{`/`^(`,
    /// no multi-digit or chained exponents.
    private static func shouldAllowEvaluation(_ expr: String) -> Bool {
        var s = PythonText.replace(PythonText.scalars(expr), "sqrt", "")
        s = PythonText.replace(s, "frac", "")
        if Set(s.filter(PythonText.isAlpha)).count > 2 { return false }
        if PythonText.contains(s, "^{") || PythonText.contains(s, "^(") { return false }
        for index in s.indices where s[index] == "^" {
            var end = index + 1
            while end < s.count && isASCIIDigit(s[end]) { end += 1 }
            let digitCount = end - index - 1
            if digitCount >= 2 || (digitCount >= 1 && end < s.count && s[end] == "^") { return false }
        }
        return true
    }

    /// Whether the two normalised answers evaluate to the same real value (at three fixed points
    /// for any free variables).
    static func areNumericallyEqual(_ truth: String, _ answer: String) -> Bool {
        guard shouldAllowEvaluation("(\(truth))-(\(answer))"),
              let left = MathExpression(parsing: truth), let right = MathExpression(parsing: answer) else { return false }
        let variables = left.variables.union(right.variables).sorted()
        let samplePoints: [[Double]] = [
            variables.indices.map { 0.5772156649 + Double($0) * 0.3183098861 },
            variables.indices.map { 1.4142135623 + Double($0) * 0.7071067811 },
            variables.indices.map { 2.7182818284 - Double($0) * 0.4342944819 },
        ]
        var compared = 0
        for point in samplePoints {
            let bindings = Dictionary(uniqueKeysWithValues: zip(variables, point))
            let a = left.evaluate(bindings), b = right.evaluate(bindings)
            guard a.isFinite, b.isFinite else { continue }
            if abs(a - b) > 1e-9 * max(1, abs(a), abs(b)) { return false }
            compared += 1
        }
        return compared > 0
    }
}

/// A real-valued expression over numbers, single-letter variables, `+ - * / ^`, `sqrt`, `pi`,
/// postfix `!` and implicit multiplication (`2pi`, `3x`, `(1)(2)`), parsed from a normalised
/// answer. Anything else (commas, brackets, text) does not parse.
struct MathExpression {
    private indirect enum Node {
        case number(Double)
        case variable(Unicode.Scalar)
        case negate(Node)
        case binary(Unicode.Scalar, Node, Node)
        case sqrt(Node)
        case factorial(Node)
    }

    private let root: Node
    let variables: Set<String>

    init?(parsing text: String) {
        var parser = Parser(scalars: PythonText.scalars(text))
        guard let node = parser.parseExpression(), parser.index == parser.scalars.count else { return nil }
        root = node
        variables = parser.variables
    }

    func evaluate(_ bindings: [String: Double]) -> Double { Self.evaluate(root, bindings) }

    private static func evaluate(_ node: Node, _ bindings: [String: Double]) -> Double {
        switch node {
        case .number(let value): return value
        case .variable(let name): return bindings[String(name)] ?? .nan
        case .negate(let inner): return -evaluate(inner, bindings)
        case .sqrt(let inner): return Foundation.sqrt(evaluate(inner, bindings))
        case .factorial(let inner):
            let value = evaluate(inner, bindings)
            guard value >= 0, value == value.rounded(), value <= 170 else { return .nan }
            return (0..<Int(value)).reduce(1.0) { $0 * Double($1 + 1) }
        case .binary(let op, let a, let b):
            let x = evaluate(a, bindings), y = evaluate(b, bindings)
            switch op {
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            case "/": return y == 0 ? .nan : x / y
            default: return Foundation.pow(x, y)
            }
        }
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0
        var variables: Set<String> = []

        init(scalars: [Unicode.Scalar]) { self.scalars = scalars }

        var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

        mutating func parseExpression() -> Node? {
            guard var node = parseTerm() else { return nil }
            while let op = current, op == "+" || op == "-" {
                index += 1
                guard let rhs = parseTerm() else { return nil }
                node = .binary(op, node, rhs)
            }
            return node
        }

        mutating func parseTerm() -> Node? {
            guard var node = parseUnary() else { return nil }
            while let op = current {
                if op == "*" && !startsWith("**") || op == "/" {
                    index += 1
                    guard let rhs = parseUnary() else { return nil }
                    node = .binary(op, node, rhs)
                } else if startsImplicitFactor() {
                    guard let rhs = parsePower() else { return nil }
                    node = .binary("*", node, rhs)
                } else {
                    break
                }
            }
            return node
        }

        mutating func parseUnary() -> Node? {
            if current == "-" { index += 1; return parseUnary().map { .negate($0) } }
            if current == "+" { index += 1; return parseUnary() }
            return parsePower()
        }

        mutating func parsePower() -> Node? {
            guard var base = parsePostfix() else { return nil }
            if current == "^" || startsWith("**") {
                index += current == "^" ? 1 : 2
                guard let exponent = parseUnary() else { return nil }
                base = .binary("^", base, exponent)
            }
            return base
        }

        mutating func parsePostfix() -> Node? {
            guard var node = parseAtom() else { return nil }
            while current == "!" { index += 1; node = .factorial(node) }
            return node
        }

        func startsWith(_ text: String) -> Bool {
            let needle = Array(text.unicodeScalars)
            return index + needle.count <= scalars.count && scalars[index..<(index + needle.count)].elementsEqual(needle)
        }

        func startsImplicitFactor() -> Bool {
            guard let c = current else { return false }
            return c == "(" || c == "." || ("0"..."9").contains(c) || (c.isASCII && PythonText.isAlpha(c))
        }

        mutating func parseAtom() -> Node? {
            guard let c = current else { return nil }
            if c == "(" {
                index += 1
                guard let inner = parseExpression(), current == ")" else { return nil }
                index += 1
                return inner
            }
            if ("0"..."9").contains(c) || c == "." {
                let start = index
                while let d = current, ("0"..."9").contains(d) || d == "." { index += 1 }
                return Double(PythonText.string(scalars[start..<index])).map { .number($0) }
            }
            if startsWith("sqrt") {
                index += 4
                guard let argument = parsePostfix() else { return nil }
                return .sqrt(argument)
            }
            if startsWith("pi") { index += 2; return .number(Double.pi) }
            if c.isASCII && PythonText.isAlpha(c) {
                index += 1
                variables.insert(String(c))
                return .variable(c)
            }
            return nil
        }
    }
}
