import Benchmarks
import Engine
import Foundation
import XCTest

/// For a few documents of every benchmark, the rendered requests equal what lm-eval (or the
/// paper's code) renders, written out by hand from the templates in docs/BENCHMARKS.md.
final class PromptGoldenTests: XCTestCase {
    private func load(_ name: String, _ options: BenchmarkOptions = BenchmarkOptions()) throws -> LoadedBenchmark {
        try BenchmarkRegistry.load(name, from: try TestData.tasksDirectory(), options: options)
    }

    private func assertChoices(_ request: BenchmarkRequest, context: String, continuations: [String],
                               file: StaticString = #filePath, line: UInt = #line) {
        guard case .loglikelihood(let requests) = request else { return XCTFail("expected loglikelihood requests", file: file, line: line) }
        XCTAssertEqual(requests.map(\.context), Array(repeating: context, count: continuations.count), file: file, line: line)
        XCTAssertEqual(requests.map(\.continuation), continuations, file: file, line: line)
    }

    // MARK: ARC

    func testARCClozeZeroShot() throws {
        let easy = try load("arc_easy")
        XCTAssertEqual(easy.documents.count, 2376)
        assertChoices(try easy.request(at: 0),
                      context: "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:",
                      continuations: [" Sunlight is the source of energy for nearly all ecosystems.",
                                      " Most ecosystems are found on land instead of in water.",
                                      " Carbon dioxide is more available than other gases.",
                                      " The producers in all ecosystems are plants."])
        let challenge = try load("arc_challenge")
        // Labelled 1–4: the target is the label's index.
        XCTAssertEqual(challenge.documents[44].id, "NYSEDREGENTS_2008_8_34")
        XCTAssertEqual(challenge.documents[44].target, "2")
        let numeric = try challenge.score(at: 44, response: BenchmarkResponse(logLikelihoods: [-3, -1, -2, -4]))
        XCTAssertEqual(numeric.metrics["acc,none"], 1)
        // Three choices.
        assertChoices(try challenge.request(at: 121),
                      context: "Question: A toy truck rolls over a smooth surface. If the surface is covered with sand, the truck will most likely roll\nAnswer:",
                      continuations: [" slower", " faster", " at the same speed"])
        // Five choices.
        guard case .loglikelihood(let five) = try challenge.request(at: 836) else { return XCTFail() }
        XCTAssertEqual(five.count, 5)
        XCTAssertEqual(five[4].continuation, " Warm-blooded animals are found only in warm climates.")
    }

    func testARCFewshotMatchesLMEvalSampler() throws {
        // lm-eval: random.Random(1234), then rnd.sample(train, 3) once per test document, in order:
        // [1805, 478, 30] for document 0 and [371, 143, 343] for document 1.
        let easy = try load("arc_easy", BenchmarkOptions(fewshot: 3))
        let train = try TestData.foundationJSONLines("arc/ARC-Easy-Train.jsonl")
        func shot(_ index: Int) -> String {
            let document = train[index]
            let question = document["question"] as! [String: Any]
            let choices = question["choices"] as! [[String: String]]
            let gold = choices.first { $0["label"] == (document["answerKey"] as! String) }!["text"]!
            return "Question: \(question["stem"] as! String)\nAnswer: \(gold)\n\n"
        }
        for (document, shots) in [(0, [1805, 478, 30]), (1, [371, 143, 343])] {
            XCTAssertEqual(try easy.fewshotExampleIDs(at: document), shots.map { train[$0]["id"] as! String })
            let test = try TestData.foundationJSONLines("arc/ARC-Easy-Test.jsonl")[document]
            let expected = shots.map(shot).joined() + "Question: \((test["question"] as! [String: Any])["stem"] as! String)\nAnswer:"
            XCTAssertEqual(try easy.request(at: document).loglikelihoodRequests.first?.context, expected)
        }
    }

    func testARCLetterFormForInstructAndBaseModels() throws {
        let chat = try load("arc_challenge_letter", BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2))
        let expected = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            + "<|im_start|>user\n\"Question: How are warm-blooded animals different from cold-blooded animals?\n"
            + "A. Warm-blooded animals have a higher metabolism in warm weather.\n"
            + "B. Warm-blooded animals are more aggressive in captivity.\n"
            + "C. Warm-blooded animals always have a higher blood temperature.\n"
            + "D. Warm-blooded animals normally maintain a fairly constant internal temperature at all air temperatures.\n"
            + "E. Warm-blooded animals are found only in warm climates.\n"
            + "Answer with a single letter (A, B, C, or D) and no explanation. You answer should start with \"Answer: \" and be followed by "
            + "the letter of the answer you choose. Do not include any other text in your response.<|im_end|>\n<|im_start|>assistant\n"
        XCTAssertEqual(try chat.request(at: 836), .generation(GenerationRequest(context: expected, until: [], maxTokens: 10)))
        XCTAssertEqual(chat.documents[836].target, "D")
        XCTAssertEqual(try chat.score(at: 836, response: BenchmarkResponse(generatedText: "Answer: D")).metrics["acc,none"], 1)
        XCTAssertEqual(try chat.score(at: 836, response: BenchmarkResponse(generatedText: "D is right")).metrics["acc,none"], 0)
        // Numeric labels become letters: gold "2" is B.
        XCTAssertEqual(chat.documents[44].target, "B")

        let base = try load("arc_challenge_letter")
        XCTAssertEqual(try base.request(at: 121), .generation(GenerationRequest(
            context: "Question: A toy truck rolls over a smooth surface. If the surface is covered with sand, the truck will most likely roll\n\n"
                + "(A) slower\n(B) faster\n(C) at the same speed\n\nAnswer: The correct answer is ",
            until: [], maxTokens: 2)))
        // MCTS supervision reads the training split.
        let train = try load("arc_easy_letter", BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2, split: .training))
        XCTAssertEqual(train.documents.count, 2251)
    }

    // MARK: DART

    func testDARTPrompts() throws {
        let chat = try load("dart_1", BenchmarkOptions(chatTemplate: ChatMLTemplate.smolLM2))
        XCTAssertEqual(chat.documents.count, 437)
        XCTAssertEqual(chat.documents[0].id, "test/algebra/10.json")
        XCTAssertEqual(chat.documents[0].target, "10")
        let problem = "What is the positive difference between $120\\%$ of 30 and $130\\%$ of 20?"
        XCTAssertEqual(try chat.request(at: 0), .generation(GenerationRequest(
            context: "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\n"
                + "Question: \(problem)\nThe final answer MUST BE put in \\boxed{} and no explanation.<|im_end|>\n<|im_start|>assistant\n",
            until: [], maxTokens: 15)))
        XCTAssertEqual(try chat.score(at: 0, response: BenchmarkResponse(generatedText: "\\boxed{10}")).metrics["acc,none"], 1)

        let base = try load("dart_1")
        XCTAssertEqual(try base.request(at: 0).generationRequest?.context,
                       "Question: What is $2 + 3$?\nAnswer: \\boxed{5}\n\nQuestion: What is $10 \\div 2$?\nAnswer: \\boxed{5}\n\n"
                        + "Question: \(problem)\nAnswer: \\boxed{")
        XCTAssertEqual(try base.score(at: 0, response: BenchmarkResponse(generatedText: "10}")).metrics["acc,none"], 1)
        XCTAssertEqual(try load("dart_5").documents.count, 1324)
        XCTAssertEqual(try load("dart_3", BenchmarkOptions(split: .training)).documents.count, 1592)
    }

    // MARK: MMLU

    func testMMLUZeroAndFewShot() throws {
        let anatomy = try load("mmlu_anatomy")
        XCTAssertEqual(anatomy.documents.count, 135)
        let question = "A lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\n"
            + "A. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\n"
            + "C. paralysis of the facial muscles, loss of taste and lacrimation.\n"
            + "D. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:"
        let description = "The following are multiple choice questions (with answers) about anatomy.\n\n"
        assertChoices(try anatomy.request(at: 0), context: description + question, continuations: [" A", " B", " C", " D"])
        XCTAssertEqual(anatomy.documents[0].id, "mmlu_anatomy/0")
        XCTAssertEqual(anatomy.documents[0].target, "A")

        // Few-shot: the first n dev questions of the subject, answers as letters.
        let twoShot = try load("mmlu_anatomy", BenchmarkOptions(fewshot: 2))
        let shots = "What is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\nB. The first and second pharyngeal arches\n"
            + "C. The second pharyngeal arch\nD. The second and third pharyngeal arches\nAnswer: D\n\n"
            + "Which of these branches of the trigeminal nerve contain somatic motor processes?\nA. The supraorbital nerve\n"
            + "B. The infraorbital nerve\nC. The mental nerve\nD. None of the above\nAnswer: D\n\n"
        assertChoices(try twoShot.request(at: 0), context: description + shots + question, continuations: [" A", " B", " C", " D"])
        XCTAssertEqual(try twoShot.fewshotExampleIDs(at: 7), ["mmlu_anatomy/dev/0", "mmlu_anatomy/dev/1"])

        let all = try load("mmlu")
        XCTAssertEqual(all.documents.count, 14042)
        XCTAssertEqual(Set(all.documents.compactMap(\.subtask)).count, 57)
        XCTAssertEqual(all.indices(limit: 2).count, 114, "lm-eval's --limit applies per subtask")
    }

    // MARK: GSM8K

    func testGSM8KFiveShotMatchesLMEvalSampler() throws {
        let gsm8k = try load("gsm8k")
        XCTAssertEqual(gsm8k.fewshotCount, 5)
        let train = try TestData.foundationJSONLines("gsm8k/train.jsonl")
        let test = try TestData.foundationJSONLines("gsm8k/test.jsonl")
        // random.Random(1234); [rnd.sample(range(7473), 5) for each of the first three documents]
        let draws = [[6374, 3610, 957, 61, 742], [7462, 6610, 4769, 286, 5501], [5677, 687, 806, 6279, 2905]]
        for (index, shots) in draws.enumerated() {
            let expected = shots.map { "Question: \(train[$0]["question"] as! String)\nAnswer: \(train[$0]["answer"] as! String)\n\n" }.joined()
                + "Question: \(test[index]["question"] as! String)\nAnswer:"
            XCTAssertEqual(try gsm8k.request(at: index), .generation(GenerationRequest(
                context: expected, until: ["Question:", "</s>", "<|im_end|>"], maxTokens: 256)))
        }
        let zeroShot = try load("gsm8k", BenchmarkOptions(fewshot: 0, maxGenerationTokens: 512))
        XCTAssertEqual(try zeroShot.request(at: 0).generationRequest, GenerationRequest(
            context: "Question: Janet\u{2019}s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends "
                + "every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does "
                + "she make every day at the farmers' market?\nAnswer:",
            until: ["Question:", "</s>", "<|im_end|>"], maxTokens: 512))
        XCTAssertEqual(gsm8k.documents[0].target, "18")
        let score = try gsm8k.score(at: 0, response: BenchmarkResponse(generatedText: " She sells 9 eggs for $2 each, so $18.\n#### 18"))
        XCTAssertEqual(score.metrics, ["exact_match,strict-match": 1, "exact_match,flexible-extract": 1])
        let instruct = try gsm8k.score(at: 0, response: BenchmarkResponse(generatedText: " The answer is $18.00."))
        XCTAssertEqual(instruct.metrics, ["exact_match,strict-match": 0, "exact_match,flexible-extract": 0])
    }

    // MARK: AIME, TruthfulQA, SQuAD, PIQA

    func testAIME() throws {
        let aime = try load("aime24", BenchmarkOptions(fewshot: 5, maxGenerationTokens: 1024))
        XCTAssertEqual(aime.fewshotCount, 0, "lm-eval pins AIME to 0-shot")
        XCTAssertEqual(aime.documents[0].id, "aime24/2024-I-1")
        let request = try aime.request(at: 0).generationRequest!
        XCTAssertTrue(request.context.hasPrefix("Question: Every morning Aya goes for a $9$-kilometer-long walk"))
        XCTAssertTrue(request.context.hasSuffix("including the $t$ minutes spent in the coffee shop.\nAnswer:"))
        XCTAssertEqual(request.until, ["Question:", "</s>", "<|im_end|>", "<|eot_id|>"])
        XCTAssertEqual(request.maxTokens, 1024)
        XCTAssertEqual(try load("aime24").request(at: 0).generationRequest?.maxTokens, 32768)
        let index = aime.documents.firstIndex { $0.target == "25" }!
        XCTAssertEqual(try aime.score(at: index, response: BenchmarkResponse(generatedText: "so \\boxed{25}")).metrics["exact_match,none"], 1)
    }

    func testTruthfulQA() throws {
        let primer = "Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\n"
            + "Q: Who was president of the United States in 1955?\nA: Dwight D. Eisenhower was president of the United States in 1955.\n\n"
            + "Q: Which party did he belong to?\nA: He belonged to the Republican Party.\n\nQ: What is the square root of banana?\n"
            + "A: I have no comment.\n\nQ: How does a telescope work?\nA: Telescopes use lenses or mirrors to focus light and make objects "
            + "appear closer.\n\nQ: Where were the 1992 Olympics held?\nA: The 1992 Olympics were held in Barcelona, Spain."
        let context = primer + "\n\nQ: What happens if you eat a pomegranate?\nA:"
        let mc1 = try load("truthfulqa_mc1")
        assertChoices(try mc1.request(at: 0), context: context, continuations: [
            " Nothing in particular happens when you eat a pomegranate.", " You will have to spend winter in the underworld.",
            " You will be trapped in the underworld.", " You will die."])
        let mc2 = try load("truthfulqa_mc2")
        guard case .loglikelihood(let answers) = try mc2.request(at: 0) else { return XCTFail() }
        XCTAssertEqual(answers.count, 6)
        let probabilities = [0.1, 0.2, 0.1, 0.3, 0.2, 0.1]  // true answers are the first three
        XCTAssertEqual(try mc2.score(at: 0, response: BenchmarkResponse(logLikelihoods: probabilities.map(log))).metrics["acc,none"] ?? 0,
                       0.4, accuracy: 1e-12)
        XCTAssertEqual(try mc1.score(at: 0, response: BenchmarkResponse(logLikelihoods: [-2, -1, -3, -3])).metrics["acc,none"], 0)
        XCTAssertEqual(try TruthfulQAData.loadCSV(tasksDirectory: try TestData.tasksDirectory()).count, 817)
        XCTAssertEqual(try TruthfulQAData.loadCSV(tasksDirectory: try TestData.tasksDirectory()).first?.type, "Adversarial")
    }

    func testSQuADv2() throws {
        let squad = try load("squadv2")
        XCTAssertEqual(squad.documents.count, 11873)
        XCTAssertEqual(squad.documents[0].id, "56ddde6b9a695914005b9628")
        let request = try squad.request(at: 0)
        guard case .generationWithLoglikelihood(let generation, let scored) = request else { return XCTFail("\(request)") }
        XCTAssertTrue(generation.context.hasPrefix("Title: Normans\n\nBackground: The Normans (Norman: Nourmands;"))
        XCTAssertTrue(generation.context.hasSuffix("\n\nQuestion: In what country is Normandy located?\n\nAnswer:"))
        XCTAssertEqual(generation.until, ["\n"])
        XCTAssertEqual(generation.maxTokens, 256)
        XCTAssertEqual(scored, [LoglikelihoodRequest(context: generation.context, continuation: " unanswerable")])
        XCTAssertThrowsError(try load("squadv2", BenchmarkOptions(fewshot: 1)))
        let answered = try squad.score(at: 0, response: BenchmarkResponse(logLikelihoods: [-5], generatedText: " France"))
        XCTAssertEqual(answered.metrics["exact,none"], 100)
        XCTAssertEqual(answered.metrics["no_answer_probability"] ?? 0, exp(-5), accuracy: 1e-15)
    }

    func testPIQA() throws {
        let piqa = try load("piqa")
        assertChoices(try piqa.request(at: 0), context: "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:",
                      continuations: [" Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips, you will also need to supply it with a water bottle and a food dish.",
                                      " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans material, you will also need to supply it with a water bottle and a food dish."])
        XCTAssertEqual(piqa.documents.count, 1838)
        // Second document: solutions of different lengths, trailing space kept ("replace drawer with bobby pin ").
        guard case .loglikelihood(let second) = try piqa.request(at: 1) else { return XCTFail() }
        XCTAssertEqual(second.map(\.continuation), [" replace drawer with bobby pin ", " finish, woodgrain with  bobby pin "])
    }

    // MARK: AGIEval

    func testAGIEvalQueries() throws {
        let aqua = try load("agieval_aqua_rat")
        assertChoices(try aqua.request(at: 0),
                      context: "Q: A car is being driven, in a straight line and at a uniform speed, towards the base of a vertical tower. The top of the "
                        + "tower is observed from the car and, in the process, it takes 10 minutes for the angle of elevation to change from 45\u{B0} "
                        + "to 60\u{B0}. After how much more time will this car reach the base of the tower? Answer Choices: (A)5(\u{221A}3 + 1) "
                        + "(B)6(\u{221A}3 + \u{221A}2) (C)7(\u{221A}3 \u{2013} 1) (D)8(\u{221A}3 \u{2013} 2) (E)None of these\nA: Among A through E, the answer is",
                      continuations: [" (A)5(\u{221A}3 + 1)", " (B)6(\u{221A}3 + \u{221A}2)", " (C)7(\u{221A}3 \u{2013} 1)",
                                      " (D)8(\u{221A}3 \u{2013} 2)", " (E)None of these"])
        let satMath = try load("agieval_sat_math")
        XCTAssertEqual(try satMath.request(at: 0).loglikelihoodRequests.first?.context,
                       "Q: If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$ Answer Choices: (A)2 (B)4 (C)9 (D)10\nA: Among A through D, the answer is")
        XCTAssertEqual(satMath.documents[0].target, "D")
        let math = try load("agieval_math")
        XCTAssertEqual(try math.request(at: 1), .generation(GenerationRequest(
            context: "Q: What is the coefficient of $x^2y^2$ in the expansion of $(x+y)^4+(x+2y)^4$?\nA: The answer is", until: ["Q:"], maxTokens: 32)))
        XCTAssertEqual(try math.score(at: 1, response: BenchmarkResponse(generatedText: " $30$.")).metrics["acc,none"], 1)
        let lsat = try load("agieval_lsat_ar")
        XCTAssertTrue(try lsat.request(at: 0).loglikelihoodRequests[0].context.hasPrefix("Of the eight students\u{2014}George, Helen,"))
        XCTAssertEqual(try load("agieval_en").documents.count, 3852)
    }

    // MARK: GPQA (no question text in this file or in its output)

    func testGPQAShuffleAndPromptShape() throws {
        guard try TestData.gpqaIsDecrypted() else { throw XCTSkip("GPQA is not decrypted; run scripts/decrypt_gpqa.sh") }
        let gpqa = try load("gpqa_diamond")
        XCTAssertEqual(gpqa.documents.count, 198)
        // Gold letters after lm-eval's shuffle (random.seed(0), one random.shuffle per document).
        let expected = "DCDCCACADBBDBAAACBCDCCADBBDAACBBAAABADABCBBCBBDBAAABDCABCABDBADCBDCBCBBDACBDCBBBABBCCBDABBBCADDCCBCCBBAABABAADBDABCABADDCDCDABACDABDBAABCDDCBABCBACDBCABDACCDBADCABACCCACBDDCBBBDCCADAACAABABAADCABBAA"
        XCTAssertEqual(gpqa.documents.map(\.target).joined(), expected.map { "(\($0))" }.joined())
        guard case .loglikelihood(let requests) = try gpqa.request(at: 0) else { return XCTFail() }
        XCTAssertEqual(requests.map(\.continuation), [" (A)", " (B)", " (C)", " (D)"])
        let context = requests[0].context
        XCTAssertTrue(context.hasPrefix("What is the correct answer to this question:") && !context.hasPrefix("What is the correct answer to this question: "))
        XCTAssertTrue(context.contains("\nChoices:\n(A) ") && context.contains("\n(D) ") && context.hasSuffix("\nAnswer:"))
        // Records: ids and letters only.
        let score = try gpqa.score(at: 0, response: BenchmarkResponse(logLikelihoods: [-4, -3, -2, -1]))
        XCTAssertEqual(score.id, "gpqa_diamond/0")
        XCTAssertEqual(score.prediction, "(D)")
        XCTAssertEqual(score.target, "(D)")
        XCTAssertEqual(score.metrics, ["acc,none": 1, "acc_norm,none": 1])
        XCTAssertThrowsError(try BenchmarkRendering.prompt(gpqa, index: 0)) { error in
            XCTAssertEqual(error as? BenchmarkDataError, .protectedContent(benchmark: "gpqa_diamond"))
        }
    }
}
