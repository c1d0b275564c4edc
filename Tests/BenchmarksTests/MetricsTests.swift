import Benchmarks
import Engine
import XCTest

final class MetricsTests: XCTestCase {
    func testArgmaxTakesTheFirstMaximumAndNaNWins() {
        XCTAssertEqual(MultipleChoiceScoring.argmax([-2, -1, -1, -3]), 1)
        XCTAssertEqual(MultipleChoiceScoring.argmax([-1, -1]), 0)
        XCTAssertEqual(MultipleChoiceScoring.argmax([-5, .nan, 0]), 1)
    }

    func testAccNormDividesByCodePoints() {
        // -6/3 = -2 < -5/2 = -2.5? No: -2 > -2.5, so choice 0 wins normalised; unnormalised -5 wins.
        XCTAssertEqual(MultipleChoiceScoring.prediction(logLikelihoods: [-6, -5]), 1)
        XCTAssertEqual(MultipleChoiceScoring.normalizedPrediction(logLikelihoods: [-6, -5], choices: ["abc", "de"]), 0)
        // "e\u{301}" is one Character but two code points, as Python's len() counts it: -1/2 beats -1.5/2.
        XCTAssertEqual(MultipleChoiceScoring.normalizedPrediction(logLikelihoods: [-1, -1.5], choices: ["e\u{301}", "ab"]), 0)
        // The composed form is one code point: -1/1 loses to -1.5/2.
        XCTAssertEqual(MultipleChoiceScoring.normalizedPrediction(logLikelihoods: [-1, -1.5], choices: ["\u{e9}", "ab"]), 1)
        // Ties after normalisation go to the first choice.
        XCTAssertEqual(MultipleChoiceScoring.normalizedPrediction(logLikelihoods: [-4, -2], choices: ["abcd", "ab"]), 0)
    }

    func testMC2IsTheNormalisedTrueMass() {
        XCTAssertEqual(MultipleChoiceScoring.mc2(logLikelihoods: [log(0.2), log(0.3), log(0.5)], labels: [1, 0, 1]), 0.7, accuracy: 1e-12)
        // Far below exp's range: log-sum-exp keeps the answer (1 / (1 + e^-1)).
        XCTAssertEqual(MultipleChoiceScoring.mc2(logLikelihoods: [-1000, -1001], labels: [1, 0]), 0.7310585786300049, accuracy: 1e-12)
        XCTAssertEqual(MultipleChoiceScoring.mc2(logLikelihoods: [-1, -2], labels: [0, 0]), 0)
    }

    func testMeanStandardErrorAndPooling() {
        XCTAssertEqual(Statistics.mean([1, 0, 1, 1]), 0.75)
        XCTAssertEqual(Statistics.sampleStandardDeviation([1, 0, 1, 1])!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(Statistics.meanStandardError([1, 0, 1, 1])!, 0.25, accuracy: 1e-12)
        XCTAssertNil(Statistics.meanStandardError([1]))
        XCTAssertEqual(Statistics.pooledStandardError(standardErrors: [0.25, 0.5], sizes: [4, 2]), 0.22821773229381923, accuracy: 1e-12)
        XCTAssertEqual(Statistics.microAverage(values: [0.75, 0.5], sizes: [4, 2]), 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(Statistics.macroAverage([0.75, 0.5]), 0.625)
    }

    func testGroupAggregationIsMicroAveraged() {
        let scores = [("a", 1.0), ("a", 0.0), ("a", 1.0), ("a", 1.0), ("b", 1.0), ("b", 0.0)].enumerated().map { index, item in
            ExampleScore(id: "\(index)", subtask: "agieval_" + (item.0 == "a" ? "lsat_ar" : "lsat_lr"),
                         metrics: ["acc,none": item.1, "acc_norm,none": 0], prediction: "A", target: "A")
        }
        let aggregate = AGIEvalBenchmark().aggregate(scores)
        XCTAssertEqual(aggregate.name, "agieval_en")
        XCTAssertEqual(aggregate.metric("acc,none")?.value ?? 0, 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(aggregate.metric("acc,none")?.standardError ?? 0, 0.22821773229381923, accuracy: 1e-12)
        XCTAssertEqual(aggregate.metric("acc,none")?.count, 6)
        XCTAssertNil(aggregate.metric("acc_norm,none"), "agieval_en aggregates acc only")
        XCTAssertEqual(aggregate.children.map(\.name), ["agieval_lsat_ar", "agieval_lsat_lr"])
        XCTAssertEqual(aggregate.children[0].metric("acc_norm,none")?.value, 0)
    }

    func testMMLUAggregatesThroughCategories() {
        func score(_ subject: String, _ value: Double, _ index: Int) -> ExampleScore {
            ExampleScore(id: "mmlu_\(subject)/\(index)", subtask: "mmlu_\(subject)", metrics: ["acc,none": value], prediction: "A", target: "A")
        }
        let scores = [score("anatomy", 1, 0), score("anatomy", 0, 1), score("astronomy", 1, 0), score("astronomy", 1, 1),
                      score("philosophy", 0, 0), score("philosophy", 0, 1)]
        let aggregate = MMLUBenchmark().aggregate(scores)
        XCTAssertEqual(aggregate.metric("acc,none")?.value ?? 0, 0.5, accuracy: 1e-12)
        XCTAssertEqual(aggregate.children.map(\.name), ["mmlu_stem", "mmlu_humanities"])
        XCTAssertEqual(aggregate.children[0].metric("acc,none")?.value ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(aggregate.children[0].children.map(\.name), ["mmlu_anatomy", "mmlu_astronomy"])
        XCTAssertEqual(aggregate.children[1].metric("acc,none")?.value, 0)
    }

    func testSQuADOfficialAggregationWithBestThreshold() {
        let benchmark = SQuADv2Benchmark()
        let documents = [
            SQuADDocument(id: "q1", title: "T", context: "C", question: "?", answers: ["Denver"]),
            SQuADDocument(id: "q2", title: "T", context: "C", question: "?", answers: ["Paris"]),
            SQuADDocument(id: "q3", title: "T", context: "C", question: "?", answers: []),
            SQuADDocument(id: "q4", title: "T", context: "C", question: "?", answers: []),
        ]
        let responses: [(String, Double)] = [("Denver", 0.1), ("foo", 0.9), (" unanswerable", 0.5), ("", 0.2)]
        let scores = zip(documents, responses).map { document, response in
            benchmark.score(document, response: BenchmarkResponse(logLikelihoods: [log(response.1)], generatedText: response.0))
        }
        XCTAssertEqual(scores[0].metrics["exact,none"], 100)
        XCTAssertEqual(scores[2].metrics["exact,none"], 0, "lm-eval does not map 'unanswerable' to the empty answer")
        XCTAssertEqual(scores[3].metrics["f1,none"], 100)
        let metrics = Dictionary(uniqueKeysWithValues: benchmark.aggregate(scores).metrics.map { ($0.key, $0.value) })
        let expected: [String: Double] = ["exact,none": 50, "f1,none": 50, "HasAns_exact,none": 50, "HasAns_f1,none": 50,
                                          "NoAns_exact,none": 50, "NoAns_f1,none": 50, "best_exact,none": 75, "best_f1,none": 75]
        for (key, value) in expected { XCTAssertEqual(metrics[key] ?? -1, value, accuracy: 1e-9, key) }
        XCTAssertTrue(benchmark.aggregate(scores).metrics.allSatisfy { $0.standardError == nil })
    }

    func testMultipleChoiceScoringThroughABenchmark() {
        // ARC item labelled 1–4 with the gold "2" (index 1) and a tie between choices 1 and 3.
        let document = ARCDocument(id: "x", question: "Q?", choiceTexts: ["aa", "bbbb", "c", "dddd"], choiceLabels: ["1", "2", "3", "4"],
                                   answerKey: "2", goldIndex: 1)
        let score = ARCBenchmark(set: .challenge).score(document, response: BenchmarkResponse(logLikelihoods: [-9, -4, -3.5, -4]))
        XCTAssertEqual(score.metrics["acc,none"], 0)   // -3.5 wins unnormalised
        XCTAssertEqual(score.metrics["acc_norm,none"], 1)  // -1 (bbbb) ties dddd's -1; the first wins
        XCTAssertEqual(score.prediction, "3")
        XCTAssertEqual(score.target, "2")
    }
}
