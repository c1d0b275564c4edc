import Engine
import Foundation
import Support

/// A GPQA Diamond question with its answers shuffled as lm-eval shuffles them.
///
/// Its question text must never be printed, logged or stored: records carry `id` and `target`
/// (a letter like `(B)`) only, and `bench prompt` refuses it.
public struct GPQADocument: BenchmarkDocument {
    /// `gpqa_diamond/<row index>`.
    public var id: String
    /// The dataset's `Record ID` (not question text).
    public var recordID: String
    public var question: String
    /// The four cleaned answers in lm-eval's shuffled order.
    public var choices: [String]
    public var goldIndex: Int
    /// `(A)`…`(D)`.
    public var target: String { "(\(String(UnicodeScalar(UInt8(65 + goldIndex)))))" }

    public init(id: String, recordID: String, question: String, choices: [String], goldIndex: Int) {
        self.id = id
        self.recordID = recordID
        self.question = question
        self.choices = choices
        self.goldIndex = goldIndex
    }
}

/// lm-eval `gpqa_diamond_zeroshot` (version 2.2): `What is the correct answer to this
/// question:{Question}\nChoices:\n(A) …\n(B) …\n(C) …\n(D) …\nAnswer:` (no space after the colon),
/// continuations `" (A)"`…`" (D)"`, `acc` and `acc_norm` (equal in practice: every choice is 3
/// characters); 0-shot (fixed).
///
/// The answers are cleaned (`strip`, `" [title]"` → `". "`, double spaces → one) and shuffled with
/// Python's global `random`, which lm-eval seeds with 0 before loading tasks: document i's shuffle
/// is the i-th `random.shuffle` of `random.Random(0)`. That matches a run where GPQA is the first
/// task to use the global generator (as with `--tasks gpqa_diamond_zeroshot`).
public struct GPQABenchmark: Benchmark {
    /// The global seed lm-eval gives Python's `random` (`--seed` first value).
    public var shuffleSeed: Int

    public init(shuffleSeed: Int = 0) { self.shuffleSeed = shuffleSeed }

    /// Where `scripts/decrypt_gpqa.sh` puts the CSV, relative to `tasks/gpqa`.
    public static let decryptedFile = "decrypted/dataset/gpqa_diamond.csv"

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "gpqa_diamond", title: "GPQA Diamond (lm-eval gpqa_diamond_zeroshot)", suites: [.ood], size: 198,
            requestKind: .loglikelihood, metrics: ["acc,none", "acc_norm,none"], defaultFewshot: 0, fewshotIsFixed: true,
            fewshotSource: "none (lm-eval pins 0)",
            dataSource: "tasks/gpqa/dataset.zip, encrypted; decrypted by scripts/setup.sh (idavidrein/gpqa, CC BY 4.0)",
            promptFormat: "lm-eval gpqa_diamond_zeroshot v2.2, answers shuffled with random.Random(\(shuffleSeed))",
            generation: nil, subtasks: [], protectsQuestionText: true)
    }

    /// lm-eval's `preprocess` of an answer.
    static func clean(_ text: String) -> String {
        var s = PythonText.scalars(PythonText.strip(text))
        s = PythonText.replace(s, " [title]", ". ")
        s = PythonText.replace(s, "  ", " ")
        return PythonText.string(s)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<GPQADocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: "gpqa_diamond", split: split.rawValue) }
        // The decrypted CSV has its own checksum list, because it is not in the repository.
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "gpqa", checksumFile: "SHA256SUMS.decrypted")
        let display = folder.displayPath(Self.decryptedFile)
        guard FileManager.default.fileExists(atPath: folder.url.appendingPathComponent(Self.decryptedFile).path) else {
            throw BenchmarkDataError.notDecrypted(file: display, hint: "run scripts/setup.sh (or scripts/decrypt_gpqa.sh) to decrypt tasks/gpqa/dataset.zip")
        }
        let rows = try CSVReader.rows(in: try folder.verifiedContents(of: Self.decryptedFile), file: display)
        guard let header = rows.first else { throw BenchmarkDataError.malformedRow(file: display, line: 1, reason: "the file is empty") }
        func column(_ name: String) throws -> Int {
            guard let index = header.fields.firstIndex(of: name) else {
                throw BenchmarkDataError.malformedRow(file: display, line: header.line, reason: "the header has no '\(name)' column")
            }
            return index
        }
        let question = try column("Question"), correct = try column("Correct Answer"), record = try column("Record ID")
        let incorrect = try (1...3).map { try column("Incorrect Answer \($0)") }
        var generator = PythonRandom(seed: shuffleSeed)
        let documents = try rows.dropFirst().enumerated().map { index, row in
            guard row.fields.count == header.fields.count else {
                // Only counts and line numbers: GPQA text must not reach messages.
                throw BenchmarkDataError.malformedRow(file: display, line: row.line,
                                                      reason: "expected \(header.fields.count) fields, found \(row.fields.count)")
            }
            let gold = Self.clean(row.fields[correct])
            var choices = incorrect.map { Self.clean(row.fields[$0]) } + [gold]
            generator.shuffle(&choices)
            let goldIndex = choices.firstIndex { PythonText.equal($0, gold) }!
            return GPQADocument(id: "gpqa_diamond/\(index)", recordID: row.fields[record], question: row.fields[question],
                                choices: choices, goldIndex: goldIndex)
        }
        guard documents.count == 198 else { throw BenchmarkDataError.unexpectedRowCount(file: display, expected: 198, actual: documents.count) }
        return DocumentSet(documents: documents, files: [DataFileDigest(path: "gpqa/" + Self.decryptedFile, sha256: folder.digest(of: Self.decryptedFile).sha256)])
    }

    static let letters = ["(A)", "(B)", "(C)", "(D)"]

    public func requests(for document: GPQADocument, fewshot examples: [GPQADocument]) -> BenchmarkRequest {
        let c = document.choices
        let context = "What is the correct answer to this question:\(document.question)\nChoices:\n(A) \(c[0])\n(B) \(c[1])\n(C) \(c[2])\n(D) \(c[3])\nAnswer:"
        return PlainPrompt.choiceRequests(context: context, choices: Self.letters)
    }

    public func score(_ document: GPQADocument, response: BenchmarkResponse) -> ExampleScore {
        let result = MultipleChoiceResult.score(logLikelihoods: response.logLikelihoods, choices: Self.letters,
                                                gold: [document.goldIndex], includeNormalized: true)
        return ExampleScore(id: document.id, subtask: nil, metrics: result.metrics,
                            prediction: Self.letters[result.predicted], target: document.target)
    }
}

/// A PIQA validation item.
public struct PIQADocument: BenchmarkDocument {
    /// `piqa/<index>`.
    public var id: String
    public var goal: String
    public var solutions: [String]
    /// 0 or 1.
    public var label: Int
    public var target: String { solutions[label] }

    public init(id: String, goal: String, solutions: [String], label: Int) {
        self.id = id
        self.goal = goal
        self.solutions = solutions
        self.label = label
    }
}

/// lm-eval `piqa` (v1.0): `Question: {goal}\nAnswer:` with `" " + sol1` and `" " + sol2`; `acc`
/// and `acc_norm` (they differ here: the solutions differ in length); evaluated on the
/// validation split, 0-shot (the train split is not in `tasks/`).
public struct PIQABenchmark: Benchmark {
    public init() {}

    public var info: BenchmarkInfo {
        BenchmarkInfo(
            name: "piqa", title: "PIQA (validation)", suites: [.ood], size: 1838, requestKind: .loglikelihood,
            metrics: ["acc,none", "acc_norm,none"], defaultFewshot: 0, fewshotIsFixed: false,
            fewshotSource: "train split (not in tasks/, so 0-shot only)",
            dataSource: "tasks/piqa/valid.jsonl + valid-labels.lst (ybisk/piqa, AFL-3.0)",
            promptFormat: "lm-eval piqa v1.0: Question: {goal}\\nAnswer: + \" {solution}\"", generation: nil, subtasks: [],
            protectsQuestionText: false)
    }

    public func loadDocuments(from tasksDirectory: URL, split: DocumentSplit) throws -> DocumentSet<PIQADocument> {
        guard split == .evaluation else { throw BenchmarkDataError.splitUnavailable(benchmark: "piqa", split: split.rawValue) }
        let folder = try TaskDataFolder(tasksDirectory: tasksDirectory, name: "piqa")
        let display = folder.displayPath("valid.jsonl"), labelsDisplay = folder.displayPath("valid-labels.lst")
        let items = try JSONReader.parseLines(try folder.verifiedContents(of: "valid.jsonl"), file: display)
        let labelLines = String(decoding: try folder.verifiedContents(of: "valid-labels.lst"), as: UTF8.self)
            .split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let labels = labelLines.last == "" ? Array(labelLines.dropLast()) : labelLines
        guard labels.count == items.count else {
            throw BenchmarkDataError.unexpectedRowCount(file: labelsDisplay, expected: items.count, actual: labels.count)
        }
        let documents = try items.enumerated().map { index, item in
            let record = try JSONRecord(item.value, file: display, line: item.line)
            guard let label = Int(labels[index]), label == 0 || label == 1 else {
                throw BenchmarkDataError.malformedRow(file: labelsDisplay, line: index + 1, reason: "expected 0 or 1, found '\(labels[index])'")
            }
            return PIQADocument(id: "piqa/\(index)", goal: try record.string("goal"),
                                solutions: [try record.string("sol1"), try record.string("sol2")], label: label)
        }
        guard documents.count == 1838 else { throw BenchmarkDataError.unexpectedRowCount(file: display, expected: 1838, actual: documents.count) }
        return DocumentSet(documents: documents, files: [folder.digest(of: "valid.jsonl"), folder.digest(of: "valid-labels.lst")])
    }

    public func requests(for document: PIQADocument, fewshot examples: [PIQADocument]) -> BenchmarkRequest {
        PlainPrompt.choiceRequests(context: "Question: \(document.goal)\nAnswer:", choices: document.solutions)
    }

    public func score(_ document: PIQADocument, response: BenchmarkResponse) -> ExampleScore {
        let result = MultipleChoiceResult.score(logLikelihoods: response.logLikelihoods, choices: document.solutions,
                                                gold: [document.label], includeNormalized: true)
        return ExampleScore(id: document.id, subtask: nil, metrics: result.metrics,
                            prediction: document.solutions[result.predicted], target: document.target)
    }
}
