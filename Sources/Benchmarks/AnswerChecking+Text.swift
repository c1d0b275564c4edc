// MARK: - GSM8K (lm-eval `gsm8k`, version 3)

extension AnswerChecking {
    /// lm-eval's regex filter fallback when nothing matches.
    public static let invalidAnswer = "[invalid]"

    /// The `strict-match` filter: the first match of `#### (\-?[0-9\.\,]+)`, stripped, or `[invalid]`.
    public static func gsm8kStrictMatch(_ response: String) -> String {
        let s = PythonText.scalars(response)
        let marker = PythonText.scalars("#### ")
        var from = 0
        while let found = PythonText.find(s, marker, from: from) {
            var index = found + marker.count
            if index < s.count && s[index] == "-" { index += 1 }
            let start = index
            while index < s.count && isNumberCharacter(s[index], dollar: false) { index += 1 }
            if index > start {
                return PythonText.string(PythonText.strip(Array(s[(found + marker.count)..<index]), where: PythonText.isSpace))
            }
            from = found + 1
        }
        return invalidAnswer
    }

    /// The `flexible-extract` filter: the last match of `(-?[$0-9.,]{2,})|(-?[0-9]+)` anywhere in
    /// the response (whichever alternative matched), stripped, or `[invalid]`.
    public static func gsm8kFlexibleExtract(_ response: String) -> String {
        let s = PythonText.scalars(response)
        var last: ArraySlice<Unicode.Scalar>?
        var index = 0
        while index < s.count {
            if let end = flexibleMatchEnd(s, at: index) {
                last = s[index..<end]
                index = end
            } else {
                index += 1
            }
        }
        guard let last else { return invalidAnswer }
        return PythonText.string(PythonText.strip(Array(last), where: PythonText.isSpace))
    }

    /// Where a match of the flexible pattern starting at `start` ends, trying the alternatives in
    /// order as Python's `re` does.
    private static func flexibleMatchEnd(_ s: [Unicode.Scalar], at start: Int) -> Int? {
        func run(from: Int, dollar: Bool) -> Int {
            var end = from
            while end < s.count && isNumberCharacter(s[end], dollar: dollar) { end += 1 }
            return end
        }
        // `-?[$0-9.,]{2,}`: with the minus if there is one (the run cannot start at a minus otherwise).
        let body = s[start] == "-" ? start + 1 : start
        let firstEnd = run(from: body, dollar: true)
        if firstEnd - body >= 2 { return firstEnd }
        // `-?[0-9]+`
        var digitsEnd = body
        while digitsEnd < s.count && ("0"..."9").contains(s[digitsEnd]) { digitsEnd += 1 }
        if digitsEnd > body { return digitsEnd }
        return nil
    }

    private static func isNumberCharacter(_ scalar: Unicode.Scalar, dollar: Bool) -> Bool {
        ("0"..."9").contains(scalar) || scalar == "." || scalar == "," || (dollar && scalar == "$")
    }

    /// lm-eval's `exact_match` as GSM8K configures it: delete `,`, `$`, everything through the last
    /// `#### `, and one final `.` from both sides (`regexes_to_ignore`, in that order), lower-case
    /// both, then compare exactly. No numeric comparison: `18.00` ≠ `18`.
    public static func gsm8kExactMatch(prediction: String, reference: String) -> Bool {
        PythonText.equal(gsm8kComparable(prediction), gsm8kComparable(reference))
    }

    /// One side of `gsm8kExactMatch` after the ignored patterns and lower-casing.
    static func gsm8kComparable(_ text: String) -> String {
        var s = PythonText.scalars(text).filter { $0 != "," && $0 != "$" }
        // `(?s).*#### `: greedy, so everything through the last marker.
        if let last = PythonText.rfind(s, PythonText.scalars("#### ")) { s.removeSubrange(0..<(last + 5)) }
        // `\.$`: a dot at the very end, or just before a final newline.
        if s.last == "." {
            s.removeLast()
        } else if s.count >= 2 && s.last == "\n" && s[s.count - 2] == "." {
            s.remove(at: s.count - 2)
        }
        return PythonText.string(s).lowercased()
    }
}

// MARK: - SQuAD v2 (the official evaluation script, via HF `evaluate`)

extension AnswerChecking {
    /// The official `normalize_answer`: lower-case, drop ASCII punctuation, replace the whole words
    /// a/an/the with a space, collapse whitespace.
    public static func squadNormalize(_ text: String) -> String {
        let lowered = PythonText.scalars(text.lowercased()).filter { !PythonText.asciiPunctuation.contains($0) }
        return PythonText.splitWhitespace(PythonText.string(removeArticles(lowered))).joined(separator: " ")
    }

    /// `re.sub(r"\b(a|an|the)\b", " ", s)` with Python's Unicode word boundaries.
    private static func removeArticles(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        func isWord(_ index: Int) -> Bool { index >= 0 && index < s.count && PythonText.isWordCharacter(s[index]) }
        var result: [Unicode.Scalar] = []
        var index = 0
        while index < s.count {
            if isWord(index) && !isWord(index - 1) {
                var matched = false
                for article in [["a"], ["a", "n"], ["t", "h", "e"]] as [[Unicode.Scalar]] {
                    let end = index + article.count
                    if end <= s.count && s[index..<end].elementsEqual(article) && !isWord(end) {
                        result.append(" ")
                        index = end
                        matched = true
                        break
                    }
                }
                if matched { continue }
            }
            result.append(s[index])
            index += 1
        }
        return result
    }

    /// The official `compute_exact` for one gold answer: 1 when the normalised strings are equal.
    public static func squadExact(gold: String, prediction: String) -> Double {
        PythonText.equal(squadNormalize(gold), squadNormalize(prediction)) ? 1 : 0
    }

    /// The official `compute_f1` for one gold answer: token-multiset F1 of the normalised strings;
    /// when either side is empty, 1 if both are empty, else 0.
    public static func squadF1(gold: String, prediction: String) -> Double {
        let goldTokens = gold.isEmpty ? [] : PythonText.splitWhitespace(squadNormalize(gold))
        let predictedTokens = prediction.isEmpty ? [] : PythonText.splitWhitespace(squadNormalize(prediction))
        if goldTokens.isEmpty || predictedTokens.isEmpty {
            return goldTokens.elementsEqual(predictedTokens, by: PythonText.equal) ? 1 : 0
        }
        var goldCounts: [[Unicode.Scalar]: Int] = [:]
        for token in goldTokens { goldCounts[PythonText.scalars(token), default: 0] += 1 }
        var common = 0
        for token in predictedTokens {
            let key = PythonText.scalars(token)
            if let count = goldCounts[key], count > 0 {
                common += 1
                goldCounts[key] = count - 1
            }
        }
        if common == 0 { return 0 }
        let precision = Double(common) / Double(predictedTokens.count)
        let recall = Double(common) / Double(goldTokens.count)
        return 2 * precision * recall / (precision + recall)
    }

    /// The gold answers the official script scores against: those with a non-empty normalised
    /// form, or `[""]` (no answer) when none is left.
    public static func squadGoldAnswers(_ answers: [String]) -> [String] {
        let kept = answers.filter { !squadNormalize($0).isEmpty }
        return kept.isEmpty ? [""] : kept
    }

    /// `get_raw_scores` for one question: the best exact match and F1 over the gold answers.
    public static func squadScores(answers: [String], prediction: String) -> (exact: Double, f1: Double) {
        let golds = squadGoldAnswers(answers)
        return (golds.map { squadExact(gold: $0, prediction: prediction) }.max() ?? 0,
                golds.map { squadF1(gold: $0, prediction: prediction) }.max() ?? 0)
    }
}
