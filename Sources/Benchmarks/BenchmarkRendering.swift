import Foundation
import Engine
import Support

/// The text of `bench tasks` and `bench prompt` (the CLI only prints these strings).
public enum BenchmarkRendering {
    /// `bench tasks`: a Markdown table of every benchmark (suite, size, request type, metrics,
    /// few-shot default and source, data), followed by the subtask names of the groups.
    public static func tasksTable(options: BenchmarkOptions = BenchmarkOptions(chatTemplate: ChatMLTemplate(defaultSystemPrompt: nil))) throws -> String {
        var table = MarkdownTable(header: ["benchmark", "suite", "size", "request", "metrics", "few-shot", "prompt", "data"])
        var subtaskLines: [String] = []
        for name in BenchmarkRegistry.names {
            let info = try BenchmarkRegistry.info(name, options: options)
            let suite = info.suites.isEmpty ? "—" : info.suites.map(\.rawValue).joined(separator: ", ")
            var request = info.requestKind.rawValue
            if let generation = info.generation {
                request += " (max \(generation.maxTokens) tokens, until \(generation.until.isEmpty ? "EOS" : generation.until.map(quoted).joined(separator: " ")))"
            }
            let fewshot = info.fewshotIsFixed ? "\(info.defaultFewshot) (fixed)" : "\(info.defaultFewshot); \(info.fewshotSource)"
            table.rows.append([info.name, suite, String(info.size), request, info.metrics.joined(separator: ", "), fewshot,
                               info.promptFormat, info.dataSource])
            if !info.subtasks.isEmpty {
                subtaskLines.append("- \(info.name) (\(info.subtasks.count) subtasks): \(info.subtasks.joined(separator: ", "))")
            }
        }
        let suites = BenchmarkSuite.allCases.map { "- \($0.rawValue): \(BenchmarkRegistry.names(in: $0).joined(separator: ", "))" }
        return table.render() + (["", "Suites:"] + suites + ["", "Subtasks (each runnable on its own):"] + subtaskLines).joined(separator: "\n") + "\n"
    }

    /// `bench prompt TASK --index N`: the exact context and continuations (or generation settings)
    /// document `index` produces. Refuses benchmarks whose question text is protected (GPQA).
    public static func prompt(_ benchmark: LoadedBenchmark, index: Int) throws -> String {
        guard !benchmark.info.protectsQuestionText else { throw BenchmarkDataError.protectedContent(benchmark: benchmark.name) }
        let request = try benchmark.request(at: index)
        let document = benchmark.documents[index]
        var lines = ["\(benchmark.name) · document \(index) of \(benchmark.documents.count) · id \(document.id)"
                     + (document.subtask.map { " · \($0)" } ?? "") + " · \(benchmark.fewshotCount)-shot · target \(quoted(document.target))"]
        let shots = try benchmark.fewshotExampleIDs(at: index)
        if !shots.isEmpty { lines.append("few-shot examples: \(shots.joined(separator: ", "))") }
        func contextBlock(_ context: String) {
            lines.append("--- context (\(PythonText.length(context)) characters, verbatim between the rules) ---")
            lines.append(context)
            lines.append("--- end of context ---")
        }
        if let generation = request.generationRequest {
            contextBlock(generation.context)
            let until = generation.until.isEmpty ? "(none; EOS only)" : generation.until.map(quoted).joined(separator: ", ")
            lines.append("generation: greedy, max \(generation.maxTokens) tokens, until \(until) (+ EOS)")
        }
        let scored = request.loglikelihoodRequests
        if !scored.isEmpty {
            if request.generationRequest == nil { contextBlock(scored[0].context) }
            lines.append("loglikelihood continuations (\(scored.count)):")
            for (offset, item) in scored.enumerated() { lines.append("  [\(offset)] \(quoted(item.continuation))") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// One document's requests as data: what `bench prompt --json` prints, one JSON object per line,
    /// so other harnesses can be given exactly the prompts `bench run` sends.
    public struct PromptRecord: Codable, Sendable, Equatable {
        public struct Generation: Codable, Sendable, Equatable {
            public var context: String
            public var until: [String]
            public var maxTokens: Int
            enum CodingKeys: String, CodingKey { case context, until, maxTokens = "max_tokens" }
        }
        public var task: String
        public var index: Int
        public var id: String
        public var subtask: String?
        public var target: String
        public var fewshot: Int
        /// The scoring context (shared by every continuation); nil for a generation-only document.
        public var context: String?
        public var continuations: [String]
        public var generation: Generation?
    }

    /// `bench prompt TASK --index N --count K --json`: documents `indices` as JSON lines.
    public static func promptRecords(_ benchmark: LoadedBenchmark, indices: Range<Int>) throws -> String {
        guard !benchmark.info.protectsQuestionText else { throw BenchmarkDataError.protectedContent(benchmark: benchmark.name) }
        var out = ""
        for index in indices {
            let request = try benchmark.request(at: index)
            let document = benchmark.documents[index]
            let scored = request.loglikelihoodRequests
            let record = PromptRecord(
                task: benchmark.name, index: index, id: document.id, subtask: document.subtask, target: document.target,
                fewshot: benchmark.fewshotCount, context: scored.first?.context, continuations: scored.map(\.continuation),
                generation: request.generationRequest.map { PromptRecord.Generation(context: $0.context, until: $0.until, maxTokens: $0.maxTokens) })
            out += String(decoding: try CanonicalJSON.lineData(record), as: UTF8.self)
        }
        return out
    }

    /// A string as a quoted literal with `\n`, `\t`, `\"` and `\\` escaped, so edge spaces show.
    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
