import Benchmarks
import Foundation
import Runs

/// `bench export`: one run's records and summaries written in another harness's format.
public enum ExportWorkflow {
    /// What to export, and where.
    public struct Request: Sendable {
        public var resultsDirectory: URL
        public var model: String
        public var run: String
        /// Tasks to export (default: every task the run holds).
        public var tasks: [String]?
        public var outputDirectory: URL
        public var exporter: any RunExporter
        /// Goes into file names, as lm-eval's `date_id` does (e.g. `2026-12-05T10-00-00.000000`).
        public var timestamp: String
        /// The model's chat template, for tasks run with one (their prompts are rebuilt); nil when
        /// the model is not installed, and then such tasks are refused.
        public var chatTemplate: (any ChatTemplate)?

        public init(resultsDirectory: URL, model: String, run: String, tasks: [String]? = nil, outputDirectory: URL,
                    exporter: any RunExporter, timestamp: String, chatTemplate: (any ChatTemplate)?) {
            self.resultsDirectory = resultsDirectory
            self.model = model
            self.run = run
            self.tasks = tasks
            self.outputDirectory = outputDirectory
            self.exporter = exporter
            self.timestamp = timestamp
            self.chatTemplate = chatTemplate
        }
    }

    /// lm-eval's timestamp form for `date`: ISO 8601 with `-` for `:` and microseconds.
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH-mm-ss.SSSSSS"
        return formatter.string(from: date)
    }

    /// Writes the files and returns their URLs. Every task is read and checked before anything
    /// is written.
    public static func run(_ request: Request) throws -> [URL] {
        let store = ResultsStore(root: request.resultsDirectory)
        let available = try store.tasks(model: request.model, run: request.run)
        guard !available.isEmpty else {
            throw RunError.missingRun(folder: store.runFolder(model: request.model, run: request.run).path)
        }
        let names = request.tasks ?? available
        let tasksDirectory = try TasksDirectory.locate()
        var tasks: [ExportedTask] = []
        for name in names {
            guard available.contains(name) else {
                throw RunError.missingRun(folder: store.summaryFile(model: request.model, run: request.run, task: name).path)
            }
            let summary = try store.loadSummary(model: request.model, run: request.run, task: name)
            let configuration = summary.configuration
            var template: any ChatTemplate = PlainTemplate()
            if configuration.chatTemplate {
                guard let chatTemplate = request.chatTemplate else { throw ExportError.chatTemplateUnavailable(model: request.model, task: name) }
                template = chatTemplate
            }
            let options = BenchmarkOptions(fewshot: configuration.fewshotRequested, fewshotSeed: Int(configuration.seed),
                                           chatTemplate: template,
                                           split: DocumentSplit(rawValue: configuration.settings["split"] ?? "") ?? .evaluation,
                                           maxGenerationTokens: configuration.settings["max_gen_tokens"].flatMap { Int($0) })
            let benchmark = try BenchmarkRegistry.load(name, from: tasksDirectory, options: options)
            let records = try store.loadRecords(model: request.model, run: request.run, task: name).sorted { $0.index < $1.index }
            tasks.append(ExportedTask(summary: summary, records: records, benchmark: benchmark))
        }
        let files = try request.exporter.export(model: request.model, run: request.run, tasks: tasks, timestamp: request.timestamp)
        try FileManager.default.createDirectory(at: request.outputDirectory, withIntermediateDirectories: true)
        return try files.map { file in
            let url = request.outputDirectory.appendingPathComponent(file.name)
            try file.contents.write(to: url, options: .atomic)
            return url
        }
    }
}

/// Why an export cannot be written.
public enum ExportError: Error, LocalizedError, Equatable {
    /// The task's prompts went through the model's chat template, and the model is not installed.
    case chatTemplateUnavailable(model: String, task: String)

    public var errorDescription: String? {
        switch self {
        case let .chatTemplateUnavailable(model, task):
            return "task '\(task)' of '\(model)' was run through the model's chat template, but the model is not installed, "
                + "so its prompts cannot be rebuilt: install it first (scripts/setup.sh --model \(model))"
        }
    }
}
