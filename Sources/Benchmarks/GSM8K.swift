import Engine
import Foundation

/// A GSM8K problem (`question`, `answer` = reasoning ending `#### <number>`).
public struct GSM8KDocument: BenchmarkDocument {
    /// `gsm8k/<index>` (`gsm8k_train/<index>` for the few-shot pool).
    public var id: String
    public var question: String
    public var answer: String
    /// The number after the last `#### `.
    public var target: String {
        let s = PythonText.scalars(answer)
        guard let marker = PythonText.rfind(s, PythonText.scalars("#### ")) else { return answer }
        return PythonText.strip(PythonText.string(s[(marker + 5)...]))
    }

    public init(id: String, question: String, answer: String) {
        self.id = id
        self.question = question
        self.answer = answer
    }
}

/// lm-eval `gsm8k` (version 3.0): `Question: {q}\nAnswer:`, 5-shot from `train` by default (random,
/// seed 1234, shots show the full reference solution), greedy until `Question:`, `</s>` or
/// `<|im_end|>`, 256 tokens. Reported as `exact_match,strict-match` (the `#### N` line) and
/// `exact_match,flexible-extract` (the last number anywhere).
public struct GSM8KBenchmark: Benchmark {
    /// The token cap (lm-eval's default `max_gen_toks` is 256; `--gen_kwargs` may override it).
    public var maxTokens: Int

    public init(maxTokens: Int = 256) { self.maxTokens = maxTokens }

    public var generation: GenerationSettings {
        GenerationSettings(until: ["Question:", "</s>", "<|im_end|>"], maxTokens: maxTokens)
    }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "gsm8k", title: "GSM8K", suites: [.ood], size: 1319, requestKind: .generation,
            metrics: ["exact_match,strict-match", "exact_match,flexible-extract"], defaultFewshot: 5, fewshotIsFixed: false,
            fewshotSource: "train split, random (seed 1234)", dataSource: "tasks/gsm8k/test.jsonl (openai/grade-school-math, MIT)",
            promptFormat: "lm-eval gsm8k v3.0: Question: {q}\\nAnswer:", generation: generation, subtasks: [],
            protectsQuestionText: false)
    }

    static func load(_ split: DocumentSplit, tasksDirectory: URL) throws -> DocumentSet<GSM8KDocument> {
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "gsm8k")
        let file = split == .evaluation ? "test.jsonl" : "train.jsonl"
        let display = folder.displayPath(file)
        let prefix = split == .evaluation ? "gsm8k" : "gsm8k_train"
        let documents = try JSONReader.parseLines(try folder.verifiedContents(of: file), file: display).enumerated().map { index, entry in
            let record = try JSONRecord(entry.value, file: display, line: entry.line)
            return GSM8KDocument(id: "\(prefix)/\(index)", question: try record.string("question"), answer: try record.string("answer"))
        }
        let expected = split == .evaluation ? 1319 : 7473
        guard documents.count == expected else {
            throw BenchmarkDataError.unexpectedRowCount(file: display, expected: expected, actual: documents.count)
        }
        return DocumentSet(documents: documents, files: [folder.digest(of: file)])
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<GSM8KDocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: "gsm8k", split: split.rawValue) }
        return try Self.load(.evaluation, tasksDirectory: tasksDirectory)
    }

    public func loadFewshotPool(from tasksDirectory: URL) throws -> FewshotPool<GSM8KDocument>? {
        let train = try Self.load(.training, tasksDirectory: tasksDirectory)
        return FewshotPool(sampler: .random, documents: ["gsm8k": train.documents], excludesEvaluatedDocument: false, files: train.files)
    }

    static func question(_ document: GSM8KDocument) -> String { "Question: \(document.question)\nAnswer:" }

    public func requests(for document: GSM8KDocument, fewshot examples: [GSM8KDocument]) -> BenchmarkRequest {
        let context = PlainPrompt.context(examples: examples.map { (Self.question($0), $0.answer) }, question: Self.question(document))
        return .generation(GenerationRequest(context: context, until: generation.until, maxTokens: generation.maxTokens))
    }

    public func score(_ document: GSM8KDocument, response: BenchmarkResponse) -> ExampleScore {
        let text = response.generatedText ?? ""
        let strict = AnswerChecking.gsm8kStrictMatch(text)
        let flexible = AnswerChecking.gsm8kFlexibleExtract(text)
        return ExampleScore(
            id: document.id, subtask: nil,
            metrics: [
                "exact_match,strict-match": AnswerChecking.gsm8kExactMatch(prediction: strict, reference: document.answer) ? 1 : 0,
                "exact_match,flexible-extract": AnswerChecking.gsm8kExactMatch(prediction: flexible, reference: document.answer) ? 1 : 0,
            ],
            prediction: text, target: document.target)
    }
}

/// An AIME 2024 problem.
public struct AIMEDocument: BenchmarkDocument {
    /// `aime24/<year>-<I|II>-<number>`, e.g. `aime24/2024-I-1`.
    public var id: String
    public var problem: String
    /// The answer as stored (leading zeros kept, e.g. `025`).
    public var answer: String
    /// `str(Answer)` as lm-eval's integer-typed copy of the data gives it (`025` → `25`).
    public var target: String { PythonText.canonicalInteger(PythonText.scalars(answer)) ?? answer }

    public init(id: String, problem: String, answer: String) {
        self.id = id
        self.problem = problem
        self.answer = answer
    }
}

/// lm-eval `aime24`: `Question: {Problem}\nAnswer:`, 0-shot (fixed), greedy until `Question:`,
/// `</s>`, `<|im_end|>` or `<|eot_id|>`, `max_gen_toks` 32768 (which must be lowered below the
/// model's context length, as with lm-eval's `--gen_kwargs max_gen_toks=N`). `exact_match`:
/// the `$…$` span or last `\boxed{}` of the response, hendrycks-equivalent to `str(int(answer))`.
public struct AIMEBenchmark: Benchmark {
    public var maxTokens: Int

    public init(maxTokens: Int = 32768) { self.maxTokens = maxTokens }

    public var generation: GenerationSettings {
        GenerationSettings(until: ["Question:", "</s>", "<|im_end|>", "<|eot_id|>"], maxTokens: maxTokens)
    }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "aime24", title: "AIME 2024", suites: [.ood], size: 30, requestKind: .generation, metrics: ["exact_match,none"],
            defaultFewshot: 0, fewshotIsFixed: true, fewshotSource: "none (lm-eval pins 0)",
            dataSource: "tasks/aime24/test.jsonl (QwenLM/Qwen2.5-Math; problems © MAA)",
            promptFormat: "lm-eval aime24: Question: {Problem}\\nAnswer:", generation: generation, subtasks: [],
            protectsQuestionText: false)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<AIMEDocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: "aime24", split: split.rawValue) }
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "aime24")
        let display = folder.displayPath("test.jsonl")
        let documents = try JSONReader.parseLines(try folder.verifiedContents(of: "test.jsonl"), file: display).map { line, value in
            let record = try JSONRecord(value, file: display, line: line)
            let url = try record.optionalString("url") ?? ""
            let fallback = String(try record.int("id"))
            return AIMEDocument(id: "aime24/" + (Self.contestID(url: url) ?? fallback),
                                problem: try record.string("problem"), answer: try record.string("answer"))
        }
        guard documents.count == 30 else { throw BenchmarkDataError.unexpectedRowCount(file: display, expected: 30, actual: documents.count) }
        return DocumentSet(documents: documents, files: [folder.digest(of: "test.jsonl")])
    }

    /// `…/2024_AIME_II_Problems/Problem_4` → `2024-II-4` (the ids lm-eval's copy of the data uses).
    static func contestID(url: String) -> String? {
        let parts = url.split(separator: "/")
        guard parts.count >= 2, parts[parts.count - 1].hasPrefix("Problem_") else { return nil }
        let contest = parts[parts.count - 2].split(separator: "_")
        guard contest.count >= 3, contest[1] == "AIME" else { return nil }
        return "\(contest[0])-\(contest[2])-\(parts[parts.count - 1].dropFirst("Problem_".count))"
    }

    public func requests(for document: AIMEDocument, fewshot examples: [AIMEDocument]) -> BenchmarkRequest {
        .generation(GenerationRequest(context: "Question: \(document.problem)\nAnswer:", until: generation.until, maxTokens: generation.maxTokens))
    }

    public func score(_ document: AIMEDocument, response: BenchmarkResponse) -> ExampleScore {
        let text = response.generatedText ?? ""
        let correct = AnswerChecking.aimeIsCorrect(response: text, answer: document.answer)
        return ExampleScore(id: document.id, subtask: nil, metrics: ["exact_match,none": correct ? 1 : 0],
                            prediction: text, target: document.target)
    }
}
