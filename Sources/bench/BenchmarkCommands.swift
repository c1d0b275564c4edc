import ArgumentParser
import Benchmarks
import Engine
import Foundation

struct Tasks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List every benchmark: suite, size, request type, metrics, few-shot default and data source.")

    func run() throws {
        print(try BenchmarkRendering.tasksTable(), terminator: "")
    }
}

struct Prompt: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the exact context and continuations (or generation settings) a document produces.")
    @Argument(help: "Benchmark name (see `bench tasks`).") var task: String
    @Option(help: "Document index (0-based, in evaluation order).") var index: Int = 0
    @Option(help: "Few-shot examples (where lm-eval lets the count change).") var fewshot: Int?
    @Option(help: "Chat template for the paper's in-domain prompts: chatml (SmolLM2's) or plain.")
    var chat: ChatTemplateChoice = .chatml
    @Flag(help: "Load the training split (the documents MCTS searches) instead of the evaluation split.")
    var training = false

    func run() throws {
        let options = BenchmarkOptions(fewshot: fewshot, chatTemplate: chat.template, split: training ? .training : .evaluation)
        let loaded = try BenchmarkRegistry.load(task, from: try TasksDirectory.locate(), options: options)
        print(try BenchmarkRendering.prompt(loaded, index: index), terminator: "")
    }
}

/// The chat template given to the paper's in-domain prompt forms.
enum ChatTemplateChoice: String, ExpressibleByArgument, CaseIterable {
    case chatml, plain
    var template: any ChatTemplate {
        switch self {
        case .chatml: return ChatMLTemplate.smolLM2
        case .plain: return PlainTemplate()
        }
    }
}
