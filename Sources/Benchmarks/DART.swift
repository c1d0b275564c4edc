import Engine
import Foundation

/// A MATH problem (`unique_id, problem, solution, level, type, subject`) with its gold answer.
public struct MATHDocument: BenchmarkDocument {
    /// MATH's `unique_id`, e.g. `test/algebra/1.json`.
    public var id: String
    public var problem: String
    public var solution: String
    /// 1–5, or nil for the two training items labelled "Level ?".
    public var level: Int?
    public var type: String
    /// `remove_boxed(last_boxed_only_string(solution))`.
    public var goldAnswer: String
    public var target: String { goldAnswer }

    public init(id: String, problem: String, solution: String, level: Int?, type: String, goldAnswer: String) {
        self.id = id
        self.problem = problem
        self.solution = solution
        self.level = level
        self.type = type
        self.goldAnswer = goldAnswer
    }
}

enum MATHData {
    static let sizes: [DocumentSplit: [Int]] = [
        .evaluation: [437, 894, 1131, 1214, 1324],
        .training: [564, 1348, 1592, 1690, 2304],
    ]

    /// The problems of `split` (test or train) at `level` (all levels when nil), in file order.
    static func load(split: DocumentSplit, level wanted: Int?, tasksDirectory: URL) throws -> DocumentSet<MATHDocument> {
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "math")
        let file = split == .evaluation ? "test.jsonl" : "train.jsonl"
        let display = folder.displayPath(file)
        let data = try folder.verifiedContents(of: file)
        let documents = try JSONReader.parseLines(data, file: display).compactMap { line, value -> MATHDocument? in
            let record = try JSONRecord(value, file: display, line: line)
            let levelText = try record.string("level")
            let level = levelText.hasPrefix("Level ") ? Int(levelText.dropFirst(6)) : nil
            // Filter before extracting gold answers: a level is a fifth of the file.
            if let wanted, level != wanted { return nil }
            let solution = try record.string("solution")
            guard let gold = AnswerChecking.mathGoldAnswer(solution: solution) else {
                throw record.failure("the solution has no complete \\boxed{…} answer")
            }
            return MATHDocument(id: try record.string("unique_id"), problem: try record.string("problem"), solution: solution,
                                level: level, type: try record.string("type"), goldAnswer: gold)
        }
        return DocumentSet(documents: documents, files: [folder.digest(of: file)])
    }
}

/// `dart_<level>`: MATH problems of one difficulty level (DART-Math's levels; the pool of
/// `hkust-nlp/dart-math-pool-math` is exactly the MATH training queries) with Dr.LLM's direct
/// `\boxed{}` answer prompt (`prompts.py`), greedy, 15 new tokens.
///
/// Instruct models: one user message `Question: {q}\nThe final answer MUST BE put in \boxed{} and
/// no explanation.` through the chat template. Base models: the two-shot `answer_math_base` text
/// ending in `Answer: \boxed{`, whose response is prefixed with `\boxed{` before extraction.
/// Scored with MathRuler: the last `\boxed{…}` content graded against the gold answer (`acc`);
/// `exact_match,hendrycks` is the stricter hendrycks `is_equiv` of the same extraction.
public struct DARTBenchmark: Benchmark {
    public var level: Int
    public var template: any ChatTemplate

    public init(level: Int, template: any ChatTemplate) {
        precondition((1...5).contains(level), "DART levels are 1–5")
        self.level = level
        self.template = template
    }

    public var generation: GenerationSettings { GenerationSettings(until: [], maxTokens: 15) }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "dart_\(level)", title: "DART level \(level) (MATH test, Dr.LLM boxed prompt)", suites: [.indomain],
            size: MATHData.sizes[.evaluation]![level - 1], requestKind: .generation,
            metrics: ["acc,none", "exact_match,hendrycks"], defaultFewshot: 0, fewshotIsFixed: true, fewshotSource: "none",
            dataSource: "tasks/math/test.jsonl, level \(level) (Hendrycks MATH, MIT; MCTS uses train.jsonl)",
            promptFormat: template.isChat
                ? "Dr.LLM answer_math via the \(template.name) chat template; MathRuler grading"
                : "Dr.LLM answer_math_base (plain, two inline shots, ends in \\boxed{); MathRuler grading",
            generation: generation, subtasks: [], protectsQuestionText: false, usesChatTemplate: true,
            searchableTrainingSplit: true)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<MATHDocument> {
        let all = try MATHData.load(split: split, level: level, tasksDirectory: tasksDirectory)
        let documents = all.documents
        let expected = MATHData.sizes[split]![level - 1]
        guard documents.count == expected else {
            throw BenchmarkDataError.unexpectedRowCount(file: all.files.first?.path ?? "math", expected: expected, actual: documents.count)
        }
        return DocumentSet(documents: documents, files: all.files)
    }

    /// The prompt text before any chat template.
    public func promptText(_ document: MATHDocument) -> String {
        if template.isChat {
            return "Question: \(document.problem)\nThe final answer MUST BE put in \\boxed{} and no explanation."
        }
        return "Question: What is $2 + 3$?\nAnswer: \\boxed{5}\n\nQuestion: What is $10 \\div 2$?\nAnswer: \\boxed{5}\n\n"
            + "Question: \(document.problem)\nAnswer: \\boxed{"
    }

    public func requests(for document: MATHDocument, fewshot examples: [MATHDocument]) -> BenchmarkRequest {
        let text = promptText(document)
        let context = template.isChat ? template.render([ChatMessage(role: .user, content: text)], addGenerationPrompt: true) : text
        return .generation(GenerationRequest(context: context, until: generation.until, maxTokens: generation.maxTokens))
    }

    public func score(_ document: MATHDocument, response: BenchmarkResponse) -> ExampleScore {
        let text = response.generatedText ?? ""
        let check = AnswerChecking.dartCheck(response: text, goldAnswer: document.goldAnswer, promptOpensBox: !template.isChat)
        let strict = check.prediction != "None" && AnswerChecking.hendrycksIsEquivalent(check.prediction, document.goldAnswer)
        return ExampleScore(id: document.id, subtask: nil,
                            metrics: ["acc,none": check.correct ? 1 : 0, "exact_match,hendrycks": strict ? 1 : 0],
                            prediction: text, target: document.goldAnswer)
    }
}
