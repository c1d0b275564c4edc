import Engine
import Foundation

/// A SQuAD 2.0 dev question.
public struct SQuADDocument: BenchmarkDocument {
    /// The official question id.
    public var id: String
    public var title: String
    public var context: String
    public var question: String
    /// All gold answer texts as published (duplicates kept); empty for unanswerable questions.
    public var answers: [String]
    /// lm-eval's `doc_to_target` without its leading space: the first answer or `unanswerable`.
    public var target: String { answers.first ?? "unanswerable" }

    public init(id: String, title: String, context: String, question: String, answers: [String]) {
        self.id = id
        self.title = title
        self.context = context
        self.question = question
        self.answers = answers
    }
}

/// lm-eval `squadv2` (class `SQuAD2`, version 3) scored with the official SQuAD 2.0 script.
///
/// Prompt `Title: {title}\n\nBackground: {context}\n\nQuestion: {question}\n\nAnswer:`; two
/// requests per question: a greedy generation until `\n` (256 tokens) and the log-likelihood of
/// `" unanswerable"`, whose `exp` is the no-answer probability. The raw continuation is the
/// prediction, unchanged, as lm-eval passes it (so an answer of "unanswerable" is not mapped to
/// the empty answer, and `NoAns_*` stay near 0; lm-eval issue #3212). Metrics are 0–100 and have
/// no standard error: `exact`, `f1`, `HasAns_*`, `NoAns_*`, `best_exact`, `best_f1`.
public struct SQuADv2Benchmark: Benchmark {
    public var maxTokens: Int

    public init(maxTokens: Int = 256) { self.maxTokens = maxTokens }

    public static let metricKeys = ["f1,none", "exact,none", "HasAns_exact,none", "HasAns_f1,none", "NoAns_exact,none",
                                    "NoAns_f1,none", "best_exact,none", "best_f1,none"]

    public var generation: GenerationSettings { GenerationSettings(until: ["\n"], maxTokens: maxTokens) }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "squadv2", title: "SQuAD v2 (dev)", suites: [.ood], size: 11873, requestKind: .generationWithLoglikelihood,
            metrics: Self.metricKeys, defaultFewshot: 0, fewshotIsFixed: false,
            fewshotSource: "train split (not in tasks/, so 0-shot only)",
            dataSource: "tasks/squadv2/dev-v2.0.json (rajpurkar/SQuAD-explorer, CC BY-SA 4.0)",
            promptFormat: "lm-eval squadv2 v3: Title/Background/Question/Answer: + loglik(\" unanswerable\")",
            generation: generation, subtasks: [], protectsQuestionText: false, pointsScale: 1)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<SQuADDocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: "squadv2", split: split.rawValue) }
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "squadv2")
        let display = folder.displayPath("dev-v2.0.json")
        let root = try JSONRecord(JSONReader.parseDocument(try folder.verifiedContents(of: "dev-v2.0.json"), file: display), file: display, line: 1)
        var documents: [SQuADDocument] = []
        for (articleIndex, articleValue) in try root.array("data").enumerated() {
            let article = try JSONRecord(articleValue, file: "\(display) article \(articleIndex)", line: 1)
            let title = try article.string("title")
            for (paragraphIndex, paragraphValue) in try article.array("paragraphs").enumerated() {
                let paragraph = try JSONRecord(paragraphValue, file: "\(display) article \(articleIndex) paragraph \(paragraphIndex)", line: 1)
                let context = try paragraph.string("context")
                for qaValue in try paragraph.array("qas") {
                    let qa = try JSONRecord(qaValue, file: paragraph.file, line: 1)
                    let answers = try qa.array("answers").map { try JSONRecord($0, file: qa.file, line: 1).string("text") }
                    documents.append(SQuADDocument(id: try qa.string("id"), title: title, context: context,
                                                   question: try qa.string("question"), answers: answers))
                }
            }
        }
        guard documents.count == 11873 else { throw BenchmarkDataError.unexpectedRowCount(file: display, expected: 11873, actual: documents.count) }
        return DocumentSet(documents: documents, files: [folder.digest(of: "dev-v2.0.json")])
    }

    public func requests(for document: SQuADDocument, fewshot examples: [SQuADDocument]) -> BenchmarkRequest {
        let context = "Title: \(document.title)\n\nBackground: \(document.context)\n\nQuestion: \(document.question)\n\nAnswer:"
        return .generationWithLoglikelihood(
            GenerationRequest(context: context, until: generation.until, maxTokens: generation.maxTokens),
            [LoglikelihoodRequest(context: context, continuation: " unanswerable")])
    }

    /// Per question: raw `exact` and `f1` on the 0–100 scale (their means are the reported
    /// `exact`/`f1`), plus `has_answer` and `no_answer_probability` for the aggregation.
    public func score(_ document: SQuADDocument, response: BenchmarkResponse) -> ExampleScore {
        let prediction = response.generatedText ?? ""
        let scores = AnswerChecking.squadScores(answers: document.answers, prediction: prediction)
        return ExampleScore(
            id: document.id, subtask: nil,
            metrics: [
                "exact,none": 100 * scores.exact, "f1,none": 100 * scores.f1,
                "has_answer": document.answers.isEmpty ? 0 : 1,
                "no_answer_probability": exp(response.logLikelihoods.first ?? -.infinity),
            ],
            prediction: prediction, target: document.target)
    }

    /// The official script's aggregation (threshold 1.0, which a probability never exceeds, then
    /// the best-threshold sweep over the no-answer probabilities in ascending order).
    public func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate {
        BenchmarkAggregate(name: "squadv2", metrics: Self.officialMetrics(scores))
    }

    /// The official metrics from per-question scores made by `score(_:response:)`.
    public static func officialMetrics(_ scores: [ExampleScore], noAnswerThreshold: Double = 1.0) -> [MetricSummary] {
        guard !scores.isEmpty else { return [] }
        struct Item { var exact, f1: Double; var hasAnswer: Bool; var probability: Double; var predicted: Bool }
        let items = scores.map { score in
            Item(exact: (score.metrics["exact,none"] ?? 0) / 100, f1: (score.metrics["f1,none"] ?? 0) / 100,
                 hasAnswer: score.metrics["has_answer"] == 1, probability: score.metrics["no_answer_probability"] ?? 0,
                 predicted: !score.prediction.isEmpty)
        }
        func thresholded(_ raw: (Item) -> Double) -> [Double] {
            items.map { $0.probability > noAnswerThreshold ? ($0.hasAnswer ? 0 : 1) : raw($0) }
        }
        let exact = thresholded(\.exact), f1 = thresholded(\.f1)
        func summary(_ key: String, _ values: [Double], _ include: (Item) -> Bool) -> MetricSummary? {
            let selected = zip(values, items).filter { include($0.1) }.map(\.0)
            guard !selected.isEmpty else { return nil }
            return MetricSummary(key: key, value: 100 * selected.reduce(0, +) / Double(selected.count), standardError: nil, count: selected.count)
        }
        // find_best_thresh: start with every question predicted unanswerable, then answer them in
        // order of increasing no-answer probability (a stable sort, as Python's `sorted`).
        func best(_ raw: (Item) -> Double) -> Double {
            var current = Double(items.filter { !$0.hasAnswer }.count)
            var bestScore = current
            let order = items.indices.sorted { (items[$0].probability, $0) < (items[$1].probability, $1) }
            for index in order {
                let item = items[index]
                current += item.hasAnswer ? raw(item) : (item.predicted ? -1 : 0)
                if current > bestScore { bestScore = current }
            }
            return 100 * bestScore / Double(items.count)
        }
        var metrics = [summary("exact,none", exact) { _ in true }!, summary("f1,none", f1) { _ in true }!]
        metrics += [summary("HasAns_exact,none", exact, \.hasAnswer), summary("HasAns_f1,none", f1, \.hasAnswer),
                    summary("NoAns_exact,none", exact) { !$0.hasAnswer }, summary("NoAns_f1,none", f1) { !$0.hasAnswer }].compactMap { $0 }
        metrics.append(MetricSummary(key: "best_exact,none", value: best(\.exact), standardError: nil, count: items.count))
        metrics.append(MetricSummary(key: "best_f1,none", value: best(\.f1), standardError: nil, count: items.count))
        return metrics
    }
}
