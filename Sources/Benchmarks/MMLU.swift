import Engine
import Foundation
import Support

/// An MMLU question (headerless CSV: question, A, B, C, D, answer letter).
public struct MMLUDocument: BenchmarkDocument {
    /// `mmlu_<subject>/<index within the subject>`.
    public var id: String
    public var subject: String
    public var question: String
    public var choices: [String]
    /// 0–3.
    public var answer: Int
    public var target: String { ["A", "B", "C", "D"][answer] }
    public var subtask: String? { "mmlu_" + subject }

    public init(id: String, subject: String, question: String, choices: [String], answer: Int) {
        self.id = id
        self.subject = subject
        self.question = question
        self.choices = choices
        self.answer = answer
    }
}

/// The 57 MMLU subjects and lm-eval's four categories.
public enum MMLUSubjects {
    /// Subjects by lm-eval category (`mmlu_stem`, `mmlu_other`, `mmlu_social_sciences`, `mmlu_humanities`).
    public static let categories: [(name: String, subjects: [String])] = [
        ("stem", ["abstract_algebra", "anatomy", "astronomy", "college_biology", "college_chemistry",
                  "college_computer_science", "college_mathematics", "college_physics", "computer_security",
                  "conceptual_physics", "electrical_engineering", "elementary_mathematics", "high_school_biology",
                  "high_school_chemistry", "high_school_computer_science", "high_school_mathematics",
                  "high_school_physics", "high_school_statistics", "machine_learning"]),
        ("other", ["business_ethics", "clinical_knowledge", "college_medicine", "global_facts", "human_aging",
                   "management", "marketing", "medical_genetics", "miscellaneous", "nutrition",
                   "professional_accounting", "professional_medicine", "virology"]),
        ("social_sciences", ["econometrics", "high_school_geography", "high_school_government_and_politics",
                             "high_school_macroeconomics", "high_school_microeconomics", "high_school_psychology",
                             "human_sexuality", "professional_psychology", "public_relations", "security_studies",
                             "sociology", "us_foreign_policy"]),
        ("humanities", ["formal_logic", "high_school_european_history", "high_school_us_history",
                        "high_school_world_history", "international_law", "jurisprudence", "logical_fallacies",
                        "moral_disputes", "moral_scenarios", "philosophy", "prehistory", "professional_law",
                        "world_religions"]),
    ]

    /// All subjects, alphabetically (the order documents are loaded in).
    public static let all: [String] = categories.flatMap(\.subjects).sorted()

    /// Test questions per subject (14,042 in all).
    static let testSizes: [String: Int] = [
        "abstract_algebra": 100, "anatomy": 135, "astronomy": 152, "business_ethics": 100, "clinical_knowledge": 265,
        "college_biology": 144, "college_chemistry": 100, "college_computer_science": 100, "college_mathematics": 100,
        "college_medicine": 173, "college_physics": 102, "computer_security": 100, "conceptual_physics": 235,
        "econometrics": 114, "electrical_engineering": 145, "elementary_mathematics": 378, "formal_logic": 126,
        "global_facts": 100, "high_school_biology": 310, "high_school_chemistry": 203, "high_school_computer_science": 100,
        "high_school_european_history": 165, "high_school_geography": 198, "high_school_government_and_politics": 193,
        "high_school_macroeconomics": 390, "high_school_mathematics": 270, "high_school_microeconomics": 238,
        "high_school_physics": 151, "high_school_psychology": 545, "high_school_statistics": 216,
        "high_school_us_history": 204, "high_school_world_history": 237, "human_aging": 223, "human_sexuality": 131,
        "international_law": 121, "jurisprudence": 108, "logical_fallacies": 163, "machine_learning": 112,
        "management": 103, "marketing": 234, "medical_genetics": 100, "miscellaneous": 783, "moral_disputes": 346,
        "moral_scenarios": 895, "nutrition": 306, "philosophy": 311, "prehistory": 324, "professional_accounting": 282,
        "professional_law": 1534, "professional_medicine": 272, "professional_psychology": 612, "public_relations": 110,
        "security_studies": 245, "sociology": 201, "us_foreign_policy": 100, "virology": 166, "world_religions": 171,
    ]
}

enum MMLUData {
    static func load(subjects: [String], split: String, tasksDirectory: URL) throws -> DocumentSet<MMLUDocument> {
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "mmlu")
        var documents: [MMLUDocument] = []
        var files: [DataFileDigest] = []
        for subject in subjects {
            let file = "\(split)/\(subject)_\(split).csv"
            let display = folder.displayPath(file)
            let rows = try CSVReader.rows(in: try folder.verifiedContents(of: file), file: display)
            for (index, row) in rows.enumerated() {
                guard row.fields.count == 6 else {
                    throw BenchmarkDataError.malformedRow(file: display, line: row.line,
                                                          reason: "expected 6 fields (question, A, B, C, D, answer), found \(row.fields.count)")
                }
                guard let answer = ["A", "B", "C", "D"].firstIndex(of: row.fields[5]) else {
                    throw BenchmarkDataError.malformedRow(file: display, line: row.line,
                                                          reason: "answer should be one of A, B, C, D, found '\(row.fields[5])'")
                }
                let id = split == "test" ? "mmlu_\(subject)/\(index)" : "mmlu_\(subject)/\(split)/\(index)"
                documents.append(MMLUDocument(id: id, subject: subject, question: row.fields[0],
                                              choices: Array(row.fields[1...4]), answer: answer))
            }
            if split == "test", let expected = MMLUSubjects.testSizes[subject], rows.count != expected {
                throw BenchmarkDataError.unexpectedRowCount(file: display, expected: expected, actual: rows.count)
            }
            files.append(folder.digest(of: file))
        }
        return DocumentSet(documents: documents, files: files)
    }
}

/// lm-eval `mmlu` (default variant): the description `The following are multiple choice questions
/// (with answers) about {subject}.\n\n`, the question with lettered choices ending `Answer:`, and
/// the continuations `" A"`…`" D"`; metric `acc`. Few-shot examples are the first n `dev` items of
/// the subject. The group is the size-weighted (micro) average over subjects, via lm-eval's four
/// categories. `mmlu_<subject>` is one subject on its own.
public struct MMLUBenchmark: Benchmark {
    /// The subjects covered (all 57 for `mmlu`, one for `mmlu_<subject>`).
    public var subjects: [String]

    /// `mmlu` (all subjects) or `mmlu_<subject>`.
    public init(subject: String? = nil) {
        subjects = subject.map { [$0] } ?? MMLUSubjects.all
    }

    private var isGroup: Bool { subjects.count > 1 }

    public var info: BenchmarkInfo {
        let name = isGroup ? "mmlu" : "mmlu_" + subjects[0]
        return BenchmarkInfo(
            name: name, title: isGroup ? "MMLU (57 subjects)" : "MMLU \(subjects[0].replacingOccurrences(of: "_", with: " "))",
            suites: isGroup ? [.ood] : [], size: subjects.map { MMLUSubjects.testSizes[$0] ?? 0 }.reduce(0, +),
            requestKind: .loglikelihood, metrics: ["acc,none"], defaultFewshot: 0, fewshotIsFixed: false,
            fewshotSource: "dev split, first n (5 per subject)",
            dataSource: "tasks/mmlu/test/*_test.csv (hendrycks MMLU via cais/mmlu, MIT)",
            promptFormat: "lm-eval mmlu (default): lettered choices + \" A\"…\" D\"",
            generation: nil, subtasks: isGroup ? subjects.map { "mmlu_" + $0 } : [], protectsQuestionText: false)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<MMLUDocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: info.name, split: split.rawValue) }
        return try MMLUData.load(subjects: subjects, split: "test", tasksDirectory: tasksDirectory)
    }

    public func loadFewshotPool(from tasksDirectory: URL) throws -> FewshotPool<MMLUDocument>? {
        let dev = try MMLUData.load(subjects: subjects, split: "dev", tasksDirectory: tasksDirectory)
        return FewshotPool(sampler: .firstN, documents: Dictionary(grouping: dev.documents, by: { "mmlu_" + $0.subject }),
                           excludesEvaluatedDocument: false, files: dev.files)
    }

    static func question(_ document: MMLUDocument) -> String {
        let c = document.choices
        return "\(PythonText.strip(document.question))\nA. \(c[0])\nB. \(c[1])\nC. \(c[2])\nD. \(c[3])\nAnswer:"
    }

    static func description(subject: String) -> String {
        "The following are multiple choice questions (with answers) about \(subject.replacingOccurrences(of: "_", with: " ")).\n\n"
    }

    public func requests(for document: MMLUDocument, fewshot examples: [MMLUDocument]) -> BenchmarkRequest {
        let context = PlainPrompt.context(description: Self.description(subject: document.subject),
                                          examples: examples.map { (Self.question($0), $0.target) }, question: Self.question(document))
        return PlainPrompt.choiceRequests(context: context, choices: ["A", "B", "C", "D"])
    }

    public func score(_ document: MMLUDocument, response: BenchmarkResponse) -> ExampleScore {
        let result = MultipleChoiceResult.score(logLikelihoods: response.logLikelihoods, choices: ["A", "B", "C", "D"],
                                                gold: [document.answer], includeNormalized: false)
        return ExampleScore(id: document.id, subtask: document.subtask, metrics: result.metrics,
                            prediction: ["A", "B", "C", "D"][result.predicted], target: document.target)
    }

    /// Subjects → categories → `mmlu`, each level size-weighted with lm-eval's pooled stderr.
    public func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate {
        let keys = ["acc,none"]
        let bySubtask = Dictionary(grouping: scores, by: { $0.subtask ?? "" })
        func subjectAggregate(_ subject: String) -> BenchmarkAggregate? {
            guard let subjectScores = bySubtask["mmlu_" + subject], !subjectScores.isEmpty else { return nil }
            return BenchmarkAggregate(name: "mmlu_" + subject, metrics: MeanAggregation.summaries(of: subjectScores, keys: keys))
        }
        guard isGroup else {
            return subjectAggregate(subjects[0]) ?? BenchmarkAggregate(name: info.name, metrics: [])
        }
        let categories: [BenchmarkAggregate] = MMLUSubjects.categories.compactMap { category in
            let children = category.subjects.compactMap(subjectAggregate)
            return children.isEmpty ? nil : MeanAggregation.group(name: "mmlu_" + category.name, children: children, keys: keys)
        }
        return MeanAggregation.group(name: "mmlu", children: categories, keys: keys)
    }
}
