import ArgumentParser
import Benchmarks
import Engine
import Foundation

struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every benchmark: suite, size, request type, metrics, few-shot default and data source.")

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        // Prompt forms are shown with the model's chat template where the model is installed.
        let template = (try? modelOptions.template(of: modelOptions.resolve())) ?? ChatMLTemplate(defaultSystemPrompt: nil)
        print(try BenchmarkRendering.tasksTable(options: BenchmarkOptions(chatTemplate: template)), terminator: "")
    }
}

struct Prompt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the exact context and continuations (or generation settings) a document produces.")
    @Argument(help: "Benchmark name (see `bench tasks`).") var task: String
    @Option(help: "Document index (0-based, in evaluation order).") var index: Int = 0
    @Option(help: "Documents from --index on (with --json; fewer where the task ends).") var count: Int = 1
    @Flag(help: "One JSON object per document (task, index, id, subtask, target, fewshot, context, continuations, generation).")
    var json = false
    @Option(help: "Few-shot examples (where lm-eval lets the count change).") var fewshot: Int?
    @OptionGroup var modelOptions: ModelOptions
    @Flag(help: "Load the training split (the documents MCTS searches) instead of the evaluation split.")
    var training = false

    func run() throws {
        // The chat template is GGUF metadata: the weights are never read.
        let template = try modelOptions.template(of: modelOptions.resolve())
        let options = BenchmarkOptions(fewshot: fewshot, chatTemplate: template, split: training ? .training : .evaluation)
        let loaded = try BenchmarkRegistry.load(task, from: try TasksDirectory.locate(), options: options)
        guard json else {
            if count != 1 { throw ValidationError("--count needs --json") }
            print(try BenchmarkRendering.prompt(loaded, index: index), terminator: "")
            return
        }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        guard (0..<loaded.documents.count).contains(index) else {
            throw ValidationError("--index \(index) is outside \(loaded.name)'s \(loaded.documents.count) documents")
        }
        print(try BenchmarkRendering.promptRecords(loaded, indices: index..<min(loaded.documents.count, index + count)), terminator: "")
    }
}
