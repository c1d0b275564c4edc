import Engine
import Foundation

/// An ARC question (AI2 JSONL: `id`, `question.stem`, `question.choices[{text,label}]`, `answerKey`).
public struct ARCDocument: BenchmarkDocument {
    public var id: String
    public var question: String
    public var choiceTexts: [String]
    /// Labels as in the data: usually A–D, on some items 1–4; 3 or 5 choices occur.
    public var choiceLabels: [String]
    public var answerKey: String
    /// `choices.label.index(answerKey)`, lm-eval's target.
    public var goldIndex: Int
    public var target: String { answerKey }

    /// The gold letter of the paper's letter form: `chr(65 + labels.index(answerKey))`.
    public var goldLetter: String { String(UnicodeScalar(UInt8(65 + goldIndex))) }

    public init(id: String, question: String, choiceTexts: [String], choiceLabels: [String], answerKey: String, goldIndex: Int) {
        self.id = id
        self.question = question
        self.choiceTexts = choiceTexts
        self.choiceLabels = choiceLabels
        self.answerKey = answerKey
        self.goldIndex = goldIndex
    }
}

/// Which ARC set.
public enum ARCSet: String, Sendable {
    case easy = "ARC-Easy"
    case challenge = "ARC-Challenge"

    var registryName: String { self == .easy ? "arc_easy" : "arc_challenge" }
    var testSize: Int { self == .easy ? 2376 : 1172 }
    var trainSize: Int { self == .easy ? 2251 : 1119 }
    func fileName(_ split: DocumentSplit) -> String { "\(rawValue)-\(split == .evaluation ? "Test" : "Train").jsonl" }
}

enum ARCData {
    static func load(_ set: ARCSet, split: DocumentSplit, tasksDirectory: URL) throws -> DocumentSet<ARCDocument> {
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "arc")
        let file = set.fileName(split)
        let data = try folder.verifiedContents(of: file)
        let display = folder.displayPath(file)
        let documents = try JSONReader.parseLines(data, file: display).map { line, value in
            let record = try JSONRecord(value, file: display, line: line)
            let id = try record.string("id")
            let question = try record.record("question")
            let stem = try question.string("stem")
            var texts: [String] = [], labels: [String] = []
            for choice in try question.array("choices") {
                let item = try JSONRecord(choice, file: display, line: line)
                texts.append(try item.string("text"))
                labels.append(try item.string("label"))
            }
            let answerKey = try record.string("answerKey")
            guard let gold = labels.firstIndex(where: { PythonText.equal($0, answerKey) }) else {
                throw record.failure("answerKey '\(answerKey)' is not one of the choice labels \(labels)")
            }
            return ARCDocument(id: id, question: stem,
                               choiceTexts: texts, choiceLabels: labels, answerKey: answerKey, goldIndex: gold)
        }
        let expected = split == .evaluation ? set.testSize : set.trainSize
        guard documents.count == expected else {
            throw BenchmarkDataError.unexpectedRowCount(file: display, expected: expected, actual: documents.count)
        }
        return DocumentSet(documents: documents, files: [folder.digest(of: file)])
    }
}

/// lm-eval `arc_easy` / `arc_challenge` (v1.0): cloze prompt `Question: {q}\nAnswer:`, each full
/// answer text scored as `" " + text`; `acc` and `acc_norm`; 0-shot by default, shots from `train`.
public struct ARCBenchmark: Benchmark {
    public var set: ARCSet

    public init(set: ARCSet) { self.set = set }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: set.registryName, title: "\(set.rawValue) (lm-eval cloze)", suites: [.indomain], size: set.testSize,
            requestKind: .loglikelihood, metrics: ["acc,none", "acc_norm,none"], defaultFewshot: 0, fewshotIsFixed: false,
            fewshotSource: "train split, random (seed 1234)",
            dataSource: "tasks/arc/\(set.fileName(.evaluation)) (allenai/ai2_arc test, CC BY-SA 4.0)",
            promptFormat: "lm-eval \(set.registryName) v1.0: Question: {q}\\nAnswer: + \" {choice text}\"",
            generation: nil, subtasks: [], protectsQuestionText: false, searchableTrainingSplit: true)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<ARCDocument> {
        try ARCData.load(set, split: split, tasksDirectory: tasksDirectory)
    }

    public func loadFewshotPool(from tasksDirectory: URL) throws -> FewshotPool<ARCDocument>? {
        let train = try ARCData.load(set, split: .training, tasksDirectory: tasksDirectory)
        return FewshotPool(sampler: .random, documents: [set.registryName: train.documents], excludesEvaluatedDocument: false, files: train.files)
    }

    static func question(_ document: ARCDocument) -> String { "Question: \(document.question)\nAnswer:" }

    public func requests(for document: ARCDocument, fewshot examples: [ARCDocument]) -> BenchmarkRequest {
        let context = PlainPrompt.context(
            examples: examples.map { (Self.question($0), $0.choiceTexts[$0.goldIndex]) }, question: Self.question(document))
        return PlainPrompt.choiceRequests(context: context, choices: document.choiceTexts)
    }

    public func score(_ document: ARCDocument, response: BenchmarkResponse) -> ExampleScore {
        let result = MultipleChoiceResult.score(logLikelihoods: response.logLikelihoods, choices: document.choiceTexts,
                                                gold: [document.goldIndex], includeNormalized: true)
        return ExampleScore(id: document.id, subtask: nil, metrics: result.metrics,
                            prediction: document.choiceLabels[result.predicted], target: document.answerKey)
    }
}

/// An ARC question in the paper's letter form: the same data, with the gold letter as target.
public struct ARCLetterDocument: BenchmarkDocument {
    public var question: ARCDocument
    public var id: String { question.id }
    /// `chr(65 + labels.index(answerKey))`, e.g. `B` for an item whose answer key is `2`.
    public var target: String { question.goldLetter }

    public init(question: ARCDocument) { self.question = question }
}

/// Dr.LLM's in-domain ARC form (`parameterlab/dr-llm` `prompts.py`, `data_generation.py`): the
/// choices shown as letters, a short greedy answer, and a strict single-letter check.
///
/// Instruct models get one user message (the `answer_letter_long` template, which starts with a
/// literal `"`) through their chat template and 10 new tokens; base models get the plain
/// `answer_letter_base` template ending `Answer: The correct answer is ` and 2 new tokens.
/// Correct iff the stripped response matches `^(?:Answer:\s*)?([A-Da-d])\.?$` with the gold
/// letter; five-choice items (gold E) can never be correct, as in the paper's code.
public struct ARCLetterBenchmark: Benchmark {
    public var set: ARCSet
    public var template: any ChatTemplate

    public init(set: ARCSet, template: any ChatTemplate) {
        self.set = set
        self.template = template
    }

    public var generation: GenerationSettings {
        GenerationSettings(until: [], maxTokens: template.isChat ? 10 : 2)
    }

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: set.registryName + "_letter", title: "\(set.rawValue) (Dr.LLM letter form)", suites: [], size: set.testSize,
            requestKind: .generation, metrics: ["acc,none"], defaultFewshot: 0, fewshotIsFixed: true, fewshotSource: "none",
            dataSource: "tasks/arc/\(set.fileName(.evaluation)) (test; MCTS uses \(set.fileName(.training)))",
            promptFormat: template.isChat
                ? "Dr.LLM answer_letter_long via the \(template.name) chat template, strict letter regex"
                : "Dr.LLM answer_letter_base (plain), strict letter regex",
            generation: generation, subtasks: [], protectsQuestionText: false, usesChatTemplate: true,
            searchableTrainingSplit: true)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<ARCLetterDocument> {
        let loaded = try ARCData.load(set, split: split, tasksDirectory: tasksDirectory)
        return DocumentSet(documents: loaded.documents.map(ARCLetterDocument.init(question:)), files: loaded.files)
    }

    /// The prompt text before any chat template (Python's `str.format` of the paper's templates).
    public func promptText(_ document: ARCDocument) -> String {
        if template.isChat {
            let choices = document.choiceTexts.enumerated()
                .map { "\(String(UnicodeScalar(UInt8(65 + $0.offset)))). \($0.element)" }.joined(separator: "\n")
            return "\"Question: \(document.question)\n\(choices)\nAnswer with a single letter (A, B, C, or D) and no explanation. "
                + "You answer should start with \"Answer: \" and be followed by the letter of the answer you choose. "
                + "Do not include any other text in your response."
        }
        let choices = document.choiceTexts.enumerated()
            .map { "(\(String(UnicodeScalar(UInt8(65 + $0.offset))))) \($0.element)" }.joined(separator: "\n")
        return "Question: \(document.question)\n\n\(choices)\n\nAnswer: The correct answer is "
    }

    public func requests(for document: ARCLetterDocument, fewshot examples: [ARCLetterDocument]) -> BenchmarkRequest {
        let text = promptText(document.question)
        let context = template.isChat ? template.render([ChatMessage(role: .user, content: text)], addGenerationPrompt: true) : text
        return .generation(GenerationRequest(context: context, until: generation.until, maxTokens: generation.maxTokens))
    }

    public func score(_ document: ARCLetterDocument, response: BenchmarkResponse) -> ExampleScore {
        let text = response.generatedText ?? ""
        let correct = AnswerChecking.arcLetterIsCorrect(response: text, goldLetter: document.target)
        return ExampleScore(id: document.id, subtask: nil, metrics: ["acc,none": correct ? 1 : 0],
                            prediction: PythonText.strip(text), target: document.target)
    }
}
