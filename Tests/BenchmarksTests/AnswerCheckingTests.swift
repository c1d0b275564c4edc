import Benchmarks
import XCTest

/// Hand-worked cases for every extractor and checker; each was also confirmed against the Python
/// reference code it reproduces (lm-eval `aime`/`agieval` utils, MathRuler, the SQuAD script).
final class AnswerCheckingTests: XCTestCase {
    // MARK: Boxed extraction

    func testLastBoxedOnlyString() {
        XCTAssertEqual(AnswerChecking.lastBoxedOnlyString("so $\\boxed{\\frac{1}{2}}$."), "\\boxed{\\frac{1}{2}}")
        XCTAssertEqual(AnswerChecking.lastBoxedOnlyString("\\boxed{1} then \\boxed{2}"), "\\boxed{2}")
        XCTAssertEqual(AnswerChecking.lastBoxedOnlyString("\\boxed 204$ end"), "\\boxed 204")
        XCTAssertEqual(AnswerChecking.lastBoxedOnlyString("\\fbox{7}"), "\\fbox{7}")
        XCTAssertNil(AnswerChecking.lastBoxedOnlyString("\\boxed{unclosed"))
        XCTAssertNil(AnswerChecking.lastBoxedOnlyString("no box"))
        XCTAssertEqual(AnswerChecking.removeBoxed("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}")
        XCTAssertEqual(AnswerChecking.removeBoxed("\\boxed 204"), "204")
        XCTAssertNil(AnswerChecking.removeBoxed("\\fbox{7}"))
        XCTAssertEqual(AnswerChecking.mathGoldAnswer(solution: "Thus $R-r\\leq\\boxed{\\frac{1}{2}}$."), "\\frac{1}{2}")
    }

    func testExtractBoxedContentLikeMathRuler() {
        XCTAssertEqual(AnswerChecking.extractBoxedContent("The answer is \\boxed{ \\frac{1}{2} }."), "\\frac{1}{2}")
        XCTAssertEqual(AnswerChecking.extractBoxedContent("\\boxed{a}\\boxed{{b}c}"), "{b}c")
        XCTAssertEqual(AnswerChecking.extractBoxedContent("\\boxed{12"), "None")  // cut off by the token cap
        XCTAssertEqual(AnswerChecking.extractBoxedContent(""), "None")
        XCTAssertEqual(AnswerChecking.extractBoxedContent("42"), "None")
    }

    // MARK: hendrycks is_equiv (MATH, AIME)

    func testHendrycksEquivalence() {
        let equal: [(String, String)] = [
            ("\\frac{1}{2}", "0.5"), ("1/2", "\\frac{1}{2}"), ("10\\%", "10"), (" .5", "0.5"), ("k = 3", "3"),
            ("\\sqrt3", "\\sqrt{3}"), ("\\dfrac12", "\\frac{1}{2}"), ("5\\text{ cm}", "5"), ("-1/2", "\\frac{-1}{2}"),
            ("\\left( 1, 2 \\right)", "(1,2)"), ("90^\\circ", "90"), ("\\$5", "5"), ("\\frac1b", "\\frac{1}{b}"),
            // Normalisation raises (IndexError), so the raw strings are compared.
            ("\\sqrt", "\\sqrt"), ("\\frac", "\\frac"), ("", ""),
        ]
        for (a, b) in equal { XCTAssertTrue(AnswerChecking.hendrycksIsEquivalent(a, b), "\(a) vs \(b)") }
        let different: [(String, String)] = [
            // int("x") raises ValueError in this copy of fix_a_slash_b: raw comparison, which fails.
            ("x/2", "\\frac{x}{2}"),
            // Two "\text{ " units: the assertion fails, raw comparison.
            ("a \\text{ b} \\text{ c}", "a"),
            // Not canonical integers, and two '=' signs.
            ("01/2", "\\frac{1}{2}"), ("x = y = 3", "3"),
        ]
        for (a, b) in different { XCTAssertFalse(AnswerChecking.hendrycksIsEquivalent(a, b), "\(a) vs \(b)") }
        XCTAssertTrue(AnswerChecking.hendrycksIsEquivalent(nil, nil))
        XCTAssertFalse(AnswerChecking.hendrycksIsEquivalent("1", nil))
    }

    func testAIMEExtractionAndLeadingZeros() {
        XCTAssertTrue(AnswerChecking.aimeIsCorrect(response: "The answer is $204$.", answer: "204"))
        XCTAssertTrue(AnswerChecking.aimeIsCorrect(response: "$x$ so \\boxed{204}", answer: "204"))
        XCTAssertTrue(AnswerChecking.aimeIsCorrect(response: "\\boxed 204$ end", answer: "204"))
        // lm-eval's data stores integers: "025" is compared as "25".
        XCTAssertTrue(AnswerChecking.aimeIsCorrect(response: "\\boxed{25}", answer: "025"))
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "\\boxed{025}", answer: "025"))
        // The whole response is compared when there is neither $…$ nor a box.
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "The answer is 204.", answer: "204"))
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "\\fbox{204}", answer: "204"))
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "$$204$$", answer: "204"))
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "$2$ and $4$", answer: "204"))
        XCTAssertFalse(AnswerChecking.aimeIsCorrect(response: "", answer: "204"))
        XCTAssertEqual(AnswerChecking.aimeExtractAnswer("$2$ and $4$"), "2$ and $4")
    }

    // MARK: AGIEval math

    func testAGIEvalParseMathAnswer() {
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("\\boxed{x=5}"), "5")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("so $y = 10$ done"), "10")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("the value is 3.14abc"), "3")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("x = 7."), "7")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("price $5 and 12.5"), "12.5")
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("a=1\\nb"), "1")  // a literal backslash-n
        XCTAssertEqual(AnswerChecking.agievalParseMathAnswer("12abc 7"), "7")
        XCTAssertNil(AnswerChecking.agievalParseMathAnswer("$$"))
        XCTAssertNil(AnswerChecking.agievalParseMathAnswer("no numbers"))
        XCTAssertNil(AnswerChecking.agievalParseMathAnswer(""))
    }

    func testAGIEvalEquivalence() {
        XCTAssertTrue(AnswerChecking.agievalIsEquivalent(candidate: "The answer is 5", gold: "5"))
        XCTAssertTrue(AnswerChecking.agievalIsEquivalent(candidate: "\\boxed{\\frac{1}{2}}", gold: "0.5"))
        // The gold goes through parse_math_answer too: "\frac{3}{4}" parses to its last number, 4.
        XCTAssertFalse(AnswerChecking.agievalIsEquivalent(candidate: "so x = 3/4.", gold: "\\frac{3}{4}"))
        // Both unparseable: None == None in the Python.
        XCTAssertTrue(AnswerChecking.agievalIsEquivalent(candidate: "", gold: ""))
    }

    // MARK: Dr.LLM DART grading (MathRuler)

    func testMathdNormalization() {
        XCTAssertEqual(AnswerChecking.mathdNormalize("\\text{ yes }"), "yes")
        XCTAssertEqual(AnswerChecking.mathdNormalize("10%"), "10")
        XCTAssertEqual(AnswerChecking.mathdNormalize(" 0.5 "), "\\frac{1}{2}")
        XCTAssertEqual(AnswerChecking.mathdNormalize("\\text{(A)}"), "(A)")
        XCTAssertEqual(AnswerChecking.mathdNormalize("x/y"), "x/y")
        XCTAssertEqual(AnswerChecking.mathdNormalize("\\sqrt"), "\\sqrt")
    }

    func testMathRulerNormalization() {
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("\\frac{1}{2}"), "1/2")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("\\dfrac{3}{4}"), "3/4")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("2\\sqrt{3}"), "2sqrt(3)")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("2.0"), "2")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("1,000"), "1000")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("5 cm"), "5")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("7 3/4"), "7+3/4")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("\\text{Yes}"), "yes")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("1 million"), "1*10^6")
        XCTAssertEqual(AnswerChecking.mathRulerNormalize("\\$1,\\!000"), "1000")
    }

    func testGradeMathAnswer() {
        // \boxed{\frac{1}{2}} vs 0.5, both ways, and other equal forms.
        let correct: [(given: String, truth: String)] = [
            ("0.5", "\\frac{1}{2}"), ("\\frac{1}{2}", "0.5"), ("1/2", "\\frac{1}{2}"), ("0.50", "\\frac{1}{2}"),
            ("2", "2.0"), ("(1,2)", "(1, 2)"), ("2\\sqrt{3}", "\\sqrt{12}"), ("x+1", "1+x"), ("1,000", "1000"),
            ("10\\%", "10"), ("\\dfrac{\\pi}{2}", "\\frac{\\pi}{2}"), ("-3", "-3"), ("1.5", "\\frac{3}{2}"), ("\\sqrt{2}/2", "\\frac{\\sqrt{2}}{2}"),
        ]
        for (given, truth) in correct {
            XCTAssertTrue(AnswerChecking.gradeMathAnswer(given: given, groundTruth: truth), "\(given) vs \(truth)")
        }
        let wrong: [(given: String, truth: String)] = [
            ("\\frac{2}{4}", "\\frac{1}{2}"),  // unreduced fractions must match exactly
            ("\\frac{6}{2}", "3"),              // an integer ground truth needs an integer answer
            ("[1,2)", "(1,2)"),                 // brackets must match
            ("\\pi", "3.14159"), ("None", "5"), ("", "5"), ("x+y+z", "x+y+z+0"),
            ("6", "3!"),                        // the ground truth is not an integer string, the answer is
        ]
        for (given, truth) in wrong {
            XCTAssertFalse(AnswerChecking.gradeMathAnswer(given: given, groundTruth: truth), "\(given) vs \(truth)")
        }
        XCTAssertFalse(AnswerChecking.gradeMathAnswer(given: nil, groundTruth: "5"))
    }

    func testDARTCheckForInstructAndBasePrompts() {
        var check = AnswerChecking.dartCheck(response: " \\boxed{\\frac{1}{2}}", goldAnswer: "0.5", promptOpensBox: false)
        XCTAssertEqual(check.prediction, "\\frac{1}{2}")
        XCTAssertTrue(check.correct)
        // Base prompts end inside "\boxed{", so the response continues the box.
        check = AnswerChecking.dartCheck(response: "5}\n\nQuestion:", goldAnswer: "5", promptOpensBox: true)
        XCTAssertEqual(check.prediction, "5")
        XCTAssertTrue(check.correct)
        // An empty generation has no box.
        check = AnswerChecking.dartCheck(response: "", goldAnswer: "5", promptOpensBox: false)
        XCTAssertEqual(check.prediction, "None")
        XCTAssertFalse(check.correct)
    }

    // MARK: Dr.LLM ARC letter form

    func testARCLetterStrictRegex() {
        let accepted: [(String, Character)] = [("A", "A"), ("Answer: B", "B"), ("Answer:C.", "C"), ("b.", "b"), ("  D  \n", "D"),
                                               ("Answer: a", "a"), ("Answer:\n\tD", "D")]
        for (response, letter) in accepted { XCTAssertEqual(AnswerChecking.arcLetterAnswer(response), letter, response) }
        for response in ["The answer is A", "A) text", "E", "Answer: ", "AB", "A..", "", "Answer: E", "(A)"] {
            XCTAssertNil(AnswerChecking.arcLetterAnswer(response), response)
        }
        XCTAssertTrue(AnswerChecking.arcLetterIsCorrect(response: "a", goldLetter: "A"))
        XCTAssertFalse(AnswerChecking.arcLetterIsCorrect(response: "Answer: B", goldLetter: "A"))
        // Five-choice items: gold E can never be matched.
        XCTAssertFalse(AnswerChecking.arcLetterIsCorrect(response: "E", goldLetter: "E"))
    }

    // MARK: GSM8K

    func testGSM8KStrictMatch() {
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("The answer is 18.\n#### 18"), "18")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("#### -1,234.5 dollars"), "-1,234.5")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("#### $1,000.00"), "[invalid]")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("#### -"), "[invalid]")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("##### 7"), "7")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch("a #### b #### 3"), "3")
        XCTAssertEqual(AnswerChecking.gsm8kStrictMatch(""), "[invalid]")
    }

    func testGSM8KFlexibleExtract() {
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("Janet makes 9 * 2 = $18 every day."), "$18")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("The total is $1,000.00."), "$1,000.00.")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("-5 apples"), "-5")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("x 3."), "3.")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("1.2.3 and -.5"), "-.5")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("- 4"), "4")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract("$"), "[invalid]")
        XCTAssertEqual(AnswerChecking.gsm8kFlexibleExtract(""), "[invalid]")
    }

    func testGSM8KExactMatch() {
        let reference = "Natalia sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72"
        for prediction in ["72", "72.", "$72", "7,2"] {
            XCTAssertTrue(AnswerChecking.gsm8kExactMatch(prediction: prediction, reference: reference), prediction)
        }
        // No numeric comparison, and only a final '.' is removed.
        for prediction in ["72.00", "[invalid]", "72\n", "72.\n"] {
            XCTAssertFalse(AnswerChecking.gsm8kExactMatch(prediction: prediction, reference: reference), prediction)
        }
        // "$1,000.00" vs 1000: commas and '$' go, ".00" stays.
        XCTAssertFalse(AnswerChecking.gsm8kExactMatch(prediction: "$1,000.00", reference: "#### 1000"))
        XCTAssertTrue(AnswerChecking.gsm8kExactMatch(prediction: "$1,000", reference: "#### 1000"))
    }

    // MARK: SQuAD v2

    func testSQuADNormalization() {
        XCTAssertEqual(AnswerChecking.squadNormalize("The Denver Broncos!"), "denver broncos")
        XCTAssertEqual(AnswerChecking.squadNormalize("An apple a day"), "apple day")
        XCTAssertEqual(AnswerChecking.squadNormalize("théâtre, the end."), "théâtre end")
        XCTAssertEqual(AnswerChecking.squadNormalize("  a  "), "")
        XCTAssertEqual(AnswerChecking.squadNormalize("the_end the-end"), "theend theend")
    }

    func testSQuADExactAndF1() {
        XCTAssertEqual(AnswerChecking.squadExact(gold: "Denver Broncos", prediction: " Denver Broncos"), 1)
        XCTAssertEqual(AnswerChecking.squadF1(gold: "Denver Broncos", prediction: " Denver Broncos"), 1)
        XCTAssertEqual(AnswerChecking.squadExact(gold: "the Denver Broncos", prediction: "Broncos of Denver"), 0)
        XCTAssertEqual(AnswerChecking.squadF1(gold: "the Denver Broncos", prediction: "Broncos of Denver"), 0.8, accuracy: 1e-12)
        XCTAssertEqual(AnswerChecking.squadF1(gold: "x y y", prediction: "y y y"), 2.0 / 3.0, accuracy: 1e-12)
        // No answer: only an empty prediction scores.
        XCTAssertEqual(AnswerChecking.squadF1(gold: "", prediction: ""), 1)
        XCTAssertEqual(AnswerChecking.squadF1(gold: "", prediction: "unanswerable"), 0)
        XCTAssertEqual(AnswerChecking.squadF1(gold: "a", prediction: "the"), 1)
        // Unanswerable questions score against [""]; lm-eval passes " unanswerable" unchanged.
        XCTAssertEqual(AnswerChecking.squadGoldAnswers([]), [""])
        XCTAssertEqual(AnswerChecking.squadGoldAnswers(["the", "Paris"]), ["Paris"])
        XCTAssertEqual(AnswerChecking.squadScores(answers: [], prediction: " unanswerable").exact, 0)
        XCTAssertEqual(AnswerChecking.squadScores(answers: [], prediction: "").f1, 1)
        XCTAssertEqual(AnswerChecking.squadScores(answers: ["France", "the France"], prediction: "France.").exact, 1)
    }
}
