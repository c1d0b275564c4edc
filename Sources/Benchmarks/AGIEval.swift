import Engine
import Foundation
import Support

/// An AGIEval English item, rendered as lm-eval's `hails/agieval-*` copies hold it.
public struct AGIEvalDocument: BenchmarkDocument {
    /// `agieval_<subset>/<index>`.
    public var id: String
    public var subset: String
    /// The zero-shot prompt AGIEval's `convert_zero_shot` builds (lm-eval's `query`).
    public var query: String
    /// Options as written, e.g. `(A)day 1` (empty for `math`).
    public var choices: [String]
    /// Gold option indices (empty for `math`).
    public var gold: [Int]
    /// The cloze answer for `math`; the gold letter otherwise.
    public var answer: String
    public var target: String { answer }
    public var subtask: String? { "agieval_" + subset }

    public init(id: String, subset: String, query: String, choices: [String], gold: [Int], answer: String) {
        self.id = id
        self.subset = subset
        self.query = query
        self.choices = choices
        self.gold = gold
        self.answer = answer
    }
}

/// AGIEval's English subsets as lm-eval's `agieval_en` group lists them.
public enum AGIEvalSubsets {
    /// (lm-eval subset name, data file stem, items), in `agieval_en.yaml` order.
    public static let english: [(name: String, file: String, size: Int)] = [
        ("aqua_rat", "aqua-rat", 254), ("gaokao_english", "gaokao-english", 306), ("logiqa_en", "logiqa-en", 651),
        ("lsat_ar", "lsat-ar", 230), ("lsat_lr", "lsat-lr", 510), ("lsat_rc", "lsat-rc", 269), ("math", "math", 1000),
        ("sat_en_without_passage", "sat-en-without-passage", 206), ("sat_en", "sat-en", 206), ("sat_math", "sat-math", 220),
    ]

    /// AGIEval's `convert_zero_shot` for English multiple-choice items.
    static func multipleChoiceQuery(passage: String, question: String, options: [String]) -> String {
        let letters = Array("ABCDEFG")
        let count = options.count == 1 ? 5 : options.count
        return passage + "Q: " + question + " " + "Answer Choices: " + options.joined(separator: " ") + "\n"
            + "A: Among A through \(letters[count - 1]), the answer is"
    }

    /// AGIEval's `convert_zero_shot` for the English cloze set (`math`).
    static func clozeQuery(passage: String, question: String) -> String {
        passage + "Q: " + question + "\n" + "A: The answer is"
    }
}

/// lm-eval `agieval_<subset>` (English): the dataset's zero-shot `query` as the prompt.
///
/// Nine multiple-choice subsets score each full option text (`" (A)day 1 and day 3"`), with `acc`
/// and `acc_norm` against the gold list. `agieval_math` generates until `Q:` (32 tokens) and is
/// `acc` by AGIEval's `parse_math_answer` + `_strip_string` equivalence. `agieval_en` is the
/// size-weighted (micro) average of `acc` over the ten subsets. Only a test split exists, so
/// 0-shot only (lm-eval would otherwise draw shots from the test split itself).
public struct AGIEvalBenchmark: Benchmark {
    /// The subsets covered (all ten for `agieval_en`).
    public var subsets: [String]

    /// `agieval_en` (all English subsets) or `agieval_<subset>`.
    public init(subset: String? = nil) {
        subsets = subset.map { [$0] } ?? AGIEvalSubsets.english.map(\.name)
    }

    private var isGroup: Bool { subsets.count > 1 }

    static let mathGeneration = GenerationSettings(until: ["Q:"], maxTokens: 32)

    public var info: BenchmarkInfo {
        let entries = AGIEvalSubsets.english.filter { subsets.contains($0.name) }
        let onlyMath = subsets == ["math"]
        return BenchmarkInfo(
            name: isGroup ? "agieval_en" : "agieval_" + subsets[0],
            title: isGroup ? "AGIEval English (10 subsets)" : "AGIEval \(subsets[0])",
            suites: isGroup ? [.ood] : [], size: entries.map(\.size).reduce(0, +),
            requestKind: onlyMath ? .generation : (subsets.contains("math") ? .mixed : .loglikelihood),
            metrics: isGroup || onlyMath ? ["acc,none"] : ["acc,none", "acc_norm,none"], defaultFewshot: 0, fewshotIsFixed: false,
            fewshotSource: "none (test split only)",
            dataSource: "tasks/agieval/*.jsonl (ruixiangcui/AGIEval v1; MIT, LogiQA CC BY-NC-SA 4.0)",
            promptFormat: isGroup ? "lm-eval agieval_en: AGIEval zero-shot query; math generates (32 tokens)"
                : onlyMath ? "lm-eval agieval_math: {passage}Q: {q}\\nA: The answer is" : "lm-eval agieval: query + \" (A)option\"",
            generation: onlyMath ? Self.mathGeneration : nil,
            subtasks: isGroup ? subsets.map { "agieval_" + $0 } : [], protectsQuestionText: false)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<AGIEvalDocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: info.name, split: split.rawValue) }
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "agieval")
        var documents: [AGIEvalDocument] = []
        var files: [DataFileDigest] = []
        for entry in AGIEvalSubsets.english where subsets.contains(entry.name) {
            let file = entry.file + ".jsonl"
            let display = folder.displayPath(file)
            let items = try JSONReader.parseLines(try folder.verifiedContents(of: file), file: display)
            for (index, item) in items.enumerated() {
                let record = try JSONRecord(item.value, file: display, line: item.line)
                let passage = try record.optionalString("passage") ?? ""
                let question = try record.string("question")
                let id = "agieval_\(entry.name)/\(index)"
                if entry.name == "math" {
                    documents.append(AGIEvalDocument(id: id, subset: entry.name, query: AGIEvalSubsets.clozeQuery(passage: passage, question: question),
                                                     choices: [], gold: [], answer: try record.string("answer")))
                    continue
                }
                let options = try record.stringArray("options")
                let label = try record.string("label")
                let gold = try label.unicodeScalars.map { scalar -> Int in
                    let index = Int(scalar.value) - 65
                    guard options.indices.contains(index) else {
                        throw record.failure("label '\(label)' does not name one of the \(options.count) options")
                    }
                    return index
                }
                guard !gold.isEmpty else { throw record.failure("label is empty") }
                documents.append(AGIEvalDocument(id: id, subset: entry.name,
                                                 query: AGIEvalSubsets.multipleChoiceQuery(passage: passage, question: question, options: options),
                                                 choices: options, gold: gold, answer: label))
            }
            guard items.count == entry.size else {
                throw BenchmarkDataError.unexpectedRowCount(file: display, expected: entry.size, actual: items.count)
            }
            files.append(folder.digest(of: file))
        }
        return DocumentSet(documents: documents, files: files)
    }

    public func requests(for document: AGIEvalDocument, fewshot examples: [AGIEvalDocument]) -> BenchmarkRequest {
        if document.subset == "math" {
            return .generation(GenerationRequest(context: document.query, until: Self.mathGeneration.until, maxTokens: Self.mathGeneration.maxTokens))
        }
        return PlainPrompt.choiceRequests(context: document.query, choices: document.choices)
    }

    public func score(_ document: AGIEvalDocument, response: BenchmarkResponse) -> ExampleScore {
        if document.subset == "math" {
            let text = response.generatedText ?? ""
            let correct = AnswerChecking.agievalIsEquivalent(candidate: text, gold: document.answer)
            return ExampleScore(id: document.id, subtask: document.subtask, metrics: ["acc,none": correct ? 1 : 0],
                                prediction: text, target: document.answer)
        }
        let result = MultipleChoiceResult.score(logLikelihoods: response.logLikelihoods, choices: document.choices,
                                                gold: document.gold, includeNormalized: true)
        let predicted = String(UnicodeScalar(UInt8(65 + result.predicted)))
        return ExampleScore(id: document.id, subtask: document.subtask, metrics: result.metrics, prediction: predicted, target: document.answer)
    }

    /// Subsets, then (for `agieval_en`) their size-weighted `acc`.
    public func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate {
        let bySubtask = Dictionary(grouping: scores, by: { $0.subtask ?? "" })
        let children: [BenchmarkAggregate] = subsets.compactMap { subset in
            guard let subsetScores = bySubtask["agieval_" + subset], !subsetScores.isEmpty else { return nil }
            let keys = subset == "math" ? ["acc,none"] : ["acc,none", "acc_norm,none"]
            return BenchmarkAggregate(name: "agieval_" + subset, metrics: MeanAggregation.summaries(of: subsetScores, keys: keys))
        }
        guard isGroup else { return children.first ?? BenchmarkAggregate(name: info.name, metrics: []) }
        return MeanAggregation.group(name: "agieval_en", children: children, keys: ["acc,none"])
    }
}
