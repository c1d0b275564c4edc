/// Pure answer checkers, reproduced from the Python code each benchmark is scored with.
///
/// Everything here is a pure function of strings, so the routing module's MCTS can reuse the same
/// checks as its reward (`arcLetterReward`, `dartReward`) and tests can pin each rule down.
/// Python semantics (code-point indexing, `str.strip`, `int()`) are kept on purpose: a checker
/// that is "better" than the reference would no longer reproduce its numbers.
public enum AnswerChecking {}

// MARK: - Boxed answers

extension AnswerChecking {
    /// hendrycks `last_boxed_only_string` (lm-eval `hendrycks_math`, `aime`): the last `\boxed…`
    /// (or `\fbox…`) with its brace-balanced argument, e.g. `"so \boxed{\frac{1}{2}}."` →
    /// `"\boxed{\frac{1}{2}}"`. A `\boxed ` followed by a space is taken up to the next `$`.
    /// Nil when there is no box or its braces never close.
    public static func lastBoxedOnlyString(_ text: String) -> String? {
        let s = PythonText.scalars(text)
        if PythonText.contains(s, "\\boxed ") {
            let afterLast = PythonText.split(s, "\\boxed ").last ?? []
            return "\\boxed " + PythonText.string(PythonText.split(afterLast, "$")[0])
        }
        guard let start = PythonText.rfind(s, PythonText.scalars("\\boxed")) ?? PythonText.rfind(s, PythonText.scalars("\\fbox")) else {
            return nil
        }
        var open = 0
        var index = start
        while index < s.count {
            if s[index] == "{" { open += 1 }
            if s[index] == "}" {
                open -= 1
                if open == 0 { return PythonText.string(s[start...index]) }
            }
            index += 1
        }
        return nil
    }

    /// hendrycks `remove_boxed`: `"\boxed{x}"` → `"x"`, `"\boxed x"` → `"x"`. Nil where Python's
    /// assertions fail (e.g. an `\fbox{…}`, which `last_boxed_only_string` can return).
    public static func removeBoxed(_ text: String) -> String? {
        let s = PythonText.scalars(text)
        let spaced = PythonText.scalars("\\boxed ")
        if PythonText.find(s, spaced) != nil {
            guard s.starts(with: spaced) else { return nil }
            return PythonText.string(s.dropFirst(spaced.count))
        }
        let braced = PythonText.scalars("\\boxed{")
        guard s.starts(with: braced), s.last == "}", s.count > braced.count else { return nil }
        return PythonText.string(s[braced.count..<(s.count - 1)])
    }

    /// The gold answer of a MATH solution: `remove_boxed(last_boxed_only_string(solution))`.
    public static func mathGoldAnswer(solution: String) -> String? {
        lastBoxedOnlyString(solution).flatMap(removeBoxed)
    }

    /// MathRuler `extract_boxed_content` (used by Dr.LLM's DART scoring): the stripped content of the
    /// last `\boxed{`, brace-balanced; the string `"None"` when there is no complete box.
    public static func extractBoxedContent(_ text: String) -> String {
        let s = PythonText.scalars(text)
        let marker = PythonText.scalars("\\boxed{")
        guard let start = PythonText.rfind(s, marker) else { return "None" }
        var depth = 0
        var index = start + marker.count
        while index < s.count {
            if s[index] == "{" { depth += 1 } else if s[index] == "}" { depth -= 1 }
            if depth == -1 {
                return PythonText.string(PythonText.strip(Array(s[(start + marker.count)..<index]), where: PythonText.isSpace))
            }
            index += 1
        }
        return "None"
    }
}

// MARK: - hendrycks `strip_string` and its descendants

extension AnswerChecking {
    /// Which copy of hendrycks' `_strip_string` to follow. The copies differ in small ways that
    /// change scores: `hendrycks` (lm-eval `hendrycks_math` and `aime`) lets `int()` errors in
    /// `fix_a_slash_b` escape, so `is_equiv` falls back to raw equality; `agieval` catches them;
    /// `prm800k` (MathRuler's mathd normalisation) also catches them and removes bare `%`.
    public enum StripStringVariant: Sendable {
        case hendrycks
        case agieval
        case prm800k
    }

    /// A Python exception escaping `_strip_string` (IndexError, AssertionError or ValueError).
    struct StripStringFailure: Error {}

    /// hendrycks `_strip_string`: the MATH answer normalisation, step for step. Throws where the
    /// Python raises, because each caller handles that differently.
    static func stripString(_ input: String, variant: StripStringVariant) throws -> String {
        var s = PythonText.scalars(input)
        s = PythonText.replace(s, "\n", "")
        s = PythonText.replace(s, "\\!", "")
        s = PythonText.replace(s, "\\\\", "\\")
        s = PythonText.replace(s, "tfrac", "frac")
        s = PythonText.replace(s, "dfrac", "frac")
        s = PythonText.replace(s, "\\left", "")
        s = PythonText.replace(s, "\\right", "")
        s = PythonText.replace(s, "^{\\circ}", "")
        s = PythonText.replace(s, "^\\circ", "")
        s = PythonText.replace(s, "\\$", "")
        // remove_right_units: "\text{ " only ever introduces units.
        if PythonText.contains(s, "\\text{ ") {
            let pieces = PythonText.split(s, "\\text{ ")
            guard pieces.count == 2 else { throw StripStringFailure() }
            s = pieces[0]
        }
        s = PythonText.replace(s, "\\%", "")
        if variant == .prm800k { s = PythonText.replace(s, "%", "") }
        s = PythonText.replace(s, " .", " 0.")
        s = PythonText.replace(s, "{.", "{0.")
        if s.isEmpty { return "" }
        if s[0] == "." { s.insert("0", at: 0) }
        // "k = 3" → "3" when the left side is at most two characters.
        let equations = PythonText.split(s, "=")
        if equations.count == 2 && equations[0].count <= 2 { s = equations[1] }
        s = try fixSqrt(s)
        s = PythonText.replace(s, " ", "")
        s = try fixFracs(s)
        if PythonText.string(s) == "0.5" { s = PythonText.scalars("\\frac{1}{2}") }
        s = try fixSlash(s, variant: variant)
        return PythonText.string(s)
    }

    /// `fix_sqrt`: `\sqrt3` → `\sqrt{3}`. An empty piece after `\sqrt` is Python's IndexError.
    private static func fixSqrt(_ s: [Unicode.Scalar]) throws -> [Unicode.Scalar] {
        guard PythonText.contains(s, "\\sqrt") else { return s }
        let pieces = PythonText.split(s, "\\sqrt")
        var result = pieces[0]
        for piece in pieces.dropFirst() {
            guard let first = piece.first else { throw StripStringFailure() }
            if first != "{" {
                result += PythonText.scalars("\\sqrt{") + [first] + PythonText.scalars("}") + piece.dropFirst()
            } else {
                result += PythonText.scalars("\\sqrt") + piece
            }
        }
        return result
    }

    /// `fix_fracs`: `\frac12` → `\frac{1}{2}`, `\frac1{72}` → `\frac{1}{72}`.
    private static func fixFracs(_ s: [Unicode.Scalar]) throws -> [Unicode.Scalar] {
        let pieces = PythonText.split(s, "\\frac")
        var result = pieces[0]
        for piece in pieces.dropFirst() {
            result += PythonText.scalars("\\frac")
            guard let first = piece.first else { throw StripStringFailure() }
            if first == "{" {
                result += piece
            } else {
                guard piece.count >= 2 else { return s }
                let a = piece[0], b = piece[1]
                if b != "{" {
                    result += ["{", a, "}", "{", b, "}"] + piece.dropFirst(2)
                } else {
                    result += ["{", a, "}", b] + piece.dropFirst(2)
                }
            }
        }
        return result
    }

    /// `fix_a_slash_b`: `3/4` → `\frac{3}{4}` for canonical integers only.
    private static func fixSlash(_ s: [Unicode.Scalar], variant: StripStringVariant) throws -> [Unicode.Scalar] {
        let pieces = PythonText.split(s, "/")
        guard pieces.count == 2 else { return s }
        guard let a = PythonText.canonicalInteger(pieces[0]), let b = PythonText.canonicalInteger(pieces[1]) else {
            // int() raised ValueError: only the hendrycks copy lets it escape.
            if variant == .hendrycks { throw StripStringFailure() }
            return s
        }
        guard PythonText.string(s) == "\(a)/\(b)" else { return s }
        return PythonText.scalars("\\frac{\(a)}{\(b)}")
    }

    /// hendrycks `is_equiv` (lm-eval `hendrycks_math`, `aime`): `strip_string` equality, falling
    /// back to raw equality when normalisation raises.
    public static func hendrycksIsEquivalent(_ a: String?, _ b: String?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        do {
            return PythonText.equal(try stripString(a, variant: .hendrycks), try stripString(b, variant: .hendrycks))
        } catch {
            return PythonText.equal(a, b)
        }
    }

    /// PRM800K / MathRuler `normalize_answer` ("mathd"): strip, unwrap a whole-string `\text{…}`,
    /// then `strip_string`; on any exception the stripped input is returned.
    public static func mathdNormalize(_ answer: String) -> String {
        let stripped = PythonText.strip(answer)
        let unwrapped = textWrappedContent(stripped).map(PythonText.strip) ?? stripped
        return (try? stripString(unwrapped, variant: .prm800k)) ?? unwrapped
    }

    /// The content of `re.search(r"^\\text\{(?P<text>.+?)\}$", s)`, or nil when it does not match.
    static func textWrappedContent(_ text: String) -> String? {
        var s = PythonText.scalars(text)
        let prefix = PythonText.scalars("\\text{")
        guard s.starts(with: prefix) else { return nil }
        if s.last == "\n" { s.removeLast() }  // `$` also matches before a final newline
        guard s.last == "}" else { return nil }
        let content = s[prefix.count..<(s.count - 1)]
        guard !content.isEmpty, !content.contains("\n") else { return nil }
        return PythonText.string(content)
    }
}

// MARK: - AIME (lm-eval `aime24`)

extension AnswerChecking {
    /// lm-eval `aime` answer extraction: the text between the first and last `$` (or the whole
    /// response), overridden by the content of the last `\boxed{…}` when there is one.
    public static func aimeExtractAnswer(_ response: String) -> String {
        let s = PythonText.scalars(response)
        let dollars = s.indices.filter { s[$0] == "$" }
        var answer = dollars.count <= 1 ? response : PythonText.string(s[(dollars.first! + 1)..<dollars.last!])
        if let boxed = lastBoxedOnlyString(response), let content = removeBoxed(boxed) {
            answer = content
        }
        return answer
    }

    /// lm-eval `aime` `process_results`: `is_equiv(extracted, str(Answer))`. `answer` is the dataset
    /// answer; lm-eval's copy stores integers, so `"025"` is compared as `"25"`.
    public static func aimeIsCorrect(response: String, answer: String) -> Bool {
        let target = PythonText.canonicalInteger(PythonText.scalars(answer)) ?? answer
        return hendrycksIsEquivalent(aimeExtractAnswer(response), target)
    }
}

// MARK: - AGIEval math (lm-eval `agieval_math`)

extension AnswerChecking {
    /// AGIEval `parse_math_answer`: the last boxed content, else the last `$…$`, else the text after
    /// the last `=`, else the last number; an `=` inside the first two keeps its right side.
    public static func agievalParseMathAnswer(_ raw: String) -> String? {
        let s = PythonText.scalars(raw)
        if PythonText.contains(s, "\\boxed") {
            return agievalRemoveBoxed(agievalLastBoxedOnlyString(s))
        }
        if var dollar = lastDollarMatch(s) {
            if dollar.contains("=") {
                dollar = PythonText.strip(PythonText.split(dollar, "=").last!, where: { $0 == " " }, trailing: false)
            }
            // An empty match is falsy in Python, so the search goes on without dollar signs.
            if !dollar.isEmpty { return PythonText.string(dollar) }
        }
        if s.contains("=") {
            var last = PythonText.strip(PythonText.split(s, "=").last!, where: { $0 == " " }, trailing: false)
            last = PythonText.strip(last, where: { $0 == "." }, leading: false)
            // The AGIEval code looks for a literal backslash-n, not a newline.
            if PythonText.contains(last, "\\n") { last = PythonText.split(last, "\\n")[0] }
            return PythonText.string(last)
        }
        return lastNumber(s).map(PythonText.string)
    }

    /// AGIEval's `last_boxed_only_string` (no special case for `\boxed `).
    private static func agievalLastBoxedOnlyString(_ s: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        guard let start = PythonText.rfind(s, PythonText.scalars("\\boxed")) ?? PythonText.rfind(s, PythonText.scalars("\\fbox")) else {
            return nil
        }
        var open = 0
        for index in start..<s.count {
            if s[index] == "{" { open += 1 }
            if s[index] == "}" {
                open -= 1
                if open == 0 { return Array(s[start...index]) }
            }
        }
        return nil
    }

    private static func agievalRemoveBoxed(_ s: [Unicode.Scalar]?) -> String? {
        let left = PythonText.scalars("\\boxed{")
        guard let s, s.starts(with: left), s.last == "}", s.count > left.count else { return nil }
        let answer = Array(s[left.count..<(s.count - 1)])
        if answer.contains("=") {
            return PythonText.string(PythonText.strip(PythonText.split(answer, "=").last!, where: { $0 == " " }, trailing: false))
        }
        return PythonText.string(answer)
    }

    /// The last match of `re.findall(r"\$(.*)\$", s)`: per line, from a `$` to the line's last `$`.
    private static func lastDollarMatch(_ s: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        var matches: [[Unicode.Scalar]] = []
        var index = 0
        while index < s.count {
            if s[index] == "$" {
                var lineEnd = index + 1
                while lineEnd < s.count && s[lineEnd] != "\n" { lineEnd += 1 }
                if let close = (index + 1..<lineEnd).last(where: { s[$0] == "$" }) {
                    matches.append(Array(s[(index + 1)..<close]))
                    index = close + 1
                    continue
                }
            }
            index += 1
        }
        return matches.last
    }

    /// The last match of `(?:\$)?\d+(?:\.\d+)?(?![\w\d])`.
    private static func lastNumber(_ s: [Unicode.Scalar]) -> [Unicode.Scalar]? {
        func notWord(_ index: Int) -> Bool { index >= s.count || !PythonText.isWordCharacter(s[index]) }
        var last: [Unicode.Scalar]?
        var index = 0
        while index < s.count {
            let digitsStart = s[index] == "$" ? index + 1 : index
            var digitsEnd = digitsStart
            while digitsEnd < s.count && PythonText.isDecimalDigit(s[digitsEnd]) { digitsEnd += 1 }
            if digitsEnd > digitsStart {
                // The greedy decimal part first; the lookahead only succeeds at the end of a digit run.
                if digitsEnd + 1 < s.count, s[digitsEnd] == ".", PythonText.isDecimalDigit(s[digitsEnd + 1]) {
                    var fractionEnd = digitsEnd + 1
                    while fractionEnd < s.count && PythonText.isDecimalDigit(s[fractionEnd]) { fractionEnd += 1 }
                    if notWord(fractionEnd) {
                        last = Array(s[index..<fractionEnd]); index = fractionEnd; continue
                    }
                }
                if notWord(digitsEnd) {
                    last = Array(s[index..<digitsEnd]); index = digitsEnd; continue
                }
            }
            index += 1
        }
        return last
    }

    /// lm-eval `agieval_math` `is_equiv`: both sides through `parse_math_answer`, then AGIEval's
    /// `_strip_string` equality; on an exception the parsed values are compared (two unparseable
    /// answers count as equal, as in the Python).
    public static func agievalIsEquivalent(candidate: String, gold: String) -> Bool {
        let parsedCandidate = agievalParseMathAnswer(candidate)
        let parsedGold = agievalParseMathAnswer(gold)
        guard let a = parsedCandidate, let b = parsedGold,
              let strippedA = try? stripString(a, variant: .agieval),
              let strippedB = try? stripString(b, variant: .agieval) else {
            switch (parsedCandidate, parsedGold) {
            case (nil, nil): return true
            case (let a?, let b?): return PythonText.equal(a, b)
            default: return false
            }
        }
        return PythonText.equal(strippedA, strippedB)
    }
}

// MARK: - Dr.LLM in-domain checks (reused by MCTS)

extension AnswerChecking {
    /// The letter Dr.LLM accepts from an ARC answer: the stripped response must match
    /// `^(?:Answer:\s*)?([A-Da-d])\.?$` as a whole. Returns the letter as written, or nil.
    public static func arcLetterAnswer(_ response: String) -> Character? {
        let s = PythonText.strip(PythonText.scalars(response), where: PythonText.isSpace)
        func letter(_ rest: ArraySlice<Unicode.Scalar>) -> Character? {
            guard let first = rest.first, "ABCDabcd".unicodeScalars.contains(first) else { return nil }
            if rest.count == 1 || (rest.count == 2 && rest.last == ".") { return Character(first) }
            return nil
        }
        let prefix = PythonText.scalars("Answer:")
        if s.starts(with: prefix) {
            let rest = s.dropFirst(prefix.count).drop(while: PythonText.isSpace)
            if let found = letter(rest) { return found }
        }
        return letter(s[...])
    }

    /// Dr.LLM's ARC reward: 1 when the response's letter equals the gold letter (case-insensitive).
    /// Gold `E` (five-choice items) can never be matched, as in the paper's code.
    public static func arcLetterIsCorrect(response: String, goldLetter: String) -> Bool {
        guard let letter = arcLetterAnswer(response), let gold = goldLetter.first else { return false }
        return letter.lowercased() == gold.lowercased()
    }

    /// Dr.LLM's DART check: extract the last `\boxed{…}` (MathRuler) and grade it against the gold
    /// answer. For base-model prompts, which end inside `\boxed{`, pass `promptOpensBox: true`;
    /// the response is then prefixed with `\boxed{` before extraction, as in the paper's code.
    public static func dartCheck(response: String, goldAnswer: String, promptOpensBox: Bool) -> (prediction: String, correct: Bool) {
        // The paper's generate() already strips the decoded text before the prefix is added.
        let stripped = PythonText.strip(response)
        let text = promptOpensBox ? "\\boxed{" + stripped : stripped
        let prediction = extractBoxedContent(PythonText.strip(text))
        return (prediction, gradeMathAnswer(given: prediction, groundTruth: goldAnswer))
    }
}
