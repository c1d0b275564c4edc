import ArgumentParser
import Engine
import Foundation
import Support

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the token ids and pieces of a text (JSON).")
    @OptionGroup var modelOptions: ModelOptions
    @Flag(name: .long, help: "Treat special-token text such as <|im_start|> as plain text.")
    var noSpecial = false
    @Argument(help: "The text to tokenise.") var text: String

    struct Output: Encodable { let model: String; let text: String; let ids: [Int32]; let pieces: [String] }

    func run() throws {
        // The tokenizer is GGUF metadata: the weights are never read.
        let resolved = try modelOptions.resolve()
        let tokenizer = try BPETokenizer(gguf: try GGUFFile(path: resolved.path))
        let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: !noSpecial)
        try printJSON(Output(model: resolved.name, text: text, ids: ids, pieces: ids.map { tokenizer.tokenText($0) }))
    }
}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Log-likelihood of a continuation given a context (JSON), lm-eval's boundary rule.")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The context.") var context: String
    @Option(help: "The continuation to score.") var continuation: String
    @Option(help: "Layer path: comma-separated block indices (absent = skipped, twice in a row = repeated).")
    var path: String?

    struct Output: Encodable {
        let model: String; let context: String; let continuation: String
        let context_ids: [Int32]; let continuation_ids: [Int32]
        let logprob: Double; let is_greedy: Bool; let path: [Int]; let block_applications: Int
    }

    func run() throws {
        let model = try modelOptions.load()
        let policy = try parsePath(path, layerCount: model.layerCount)
        let pair = model.encodePair(context: context, continuation: continuation)
        let r = try model.loglikelihood([LoglikelihoodRequest(context: context, continuation: continuation)], policy: policy)[0]
        try printJSON(Output(model: model.name, context: context, continuation: continuation,
                             context_ids: pair.context, continuation_ids: pair.continuation,
                             logprob: r.logLikelihood, is_greedy: r.isGreedy, path: r.path.blocks,
                             block_applications: r.blockApplications))
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Greedy generation from a prompt (JSON).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .long, help: "Maximum new tokens.") var maxTokens: Int = 64
    @Option(name: .long, parsing: .singleValue, help: "Stop string (repeatable).") var stop: [String] = []
    @Option(help: "Layer path: comma-separated block indices.") var path: String?

    struct Output: Encodable {
        let model: String; let prompt: String; let text: String; let stop_reason: String
        let prompt_tokens: Int; let generated_tokens: Int; let path: [Int]
        let block_applications: Int; let forward_passes: Int; let seconds: Double
    }

    func validate() throws {
        guard !prompt.isEmpty else { throw ValidationError("--prompt is empty: give the text to continue") }
        guard maxTokens >= 1 else { throw ValidationError("--max-tokens must be at least 1") }
    }

    func run() throws {
        let model = try modelOptions.load()
        let policy = try parsePath(path, layerCount: model.layerCount)
        let t0 = MonotonicClock.seconds()
        let r = try model.generate([GenerationRequest(context: prompt, until: stop, maxTokens: maxTokens)], policy: policy)[0]
        try printJSON(Output(model: model.name, prompt: prompt, text: r.text, stop_reason: r.stopReason.rawValue,
                             prompt_tokens: r.promptTokens, generated_tokens: r.generatedTokens, path: r.path.blocks,
                             block_applications: r.blockApplications, forward_passes: r.forwardPasses,
                             seconds: MonotonicClock.seconds() - t0))
    }
}

struct PerfAttention: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf-attention",
        abstract: "Measure decode attention alone over a long cache, query groups together vs one head at a time (JSON).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "Cached positions each token attends over.") var positions: Int = 16_384
    @Option(name: .long, help: "Alternating rounds of each way (the medians are reported).") var rounds: Int = 3
    @Option(name: .long, help: "Tokens timed per round.") var tokens: Int = 4

    func validate() throws {
        guard positions >= 1, rounds >= 1, tokens >= 1 else {
            throw ValidationError("--positions, --rounds and --tokens must be at least 1")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let benchmark = DecodeAttentionBenchmark(configuration: model.configuration, modelName: model.name)
        try printJSON(benchmark.run(positions: positions, rounds: rounds, tokensPerRound: tokens))
    }
}

struct Perf: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure prefill and decode speed in tokens/s (JSON).")
    @OptionGroup var modelOptions: ModelOptions
    @Option(name: .long, help: "Prompt length for the prefill measurement.") var promptTokens: Int = 256
    @Option(name: .long, help: "Tokens to generate for the decode measurement.") var genTokens: Int = 128
    @Option(name: .long, help: "Repetitions (the median is reported).") var repetitions: Int = 3
    @Option(help: "Layer path: comma-separated block indices.") var path: String?
    @Option(help: "Sequences decoded together (tokens/s counts all of them).") var batch: Int = 1

    func validate() throws {
        guard promptTokens >= 1, genTokens >= 1, repetitions >= 1, batch >= 1 else {
            throw ValidationError("--prompt-tokens, --gen-tokens, --repetitions and --batch must be at least 1")
        }
    }

    func run() throws {
        let model = try modelOptions.load()
        let policy = try parsePath(path, layerCount: model.layerCount)
        let result = try PerfBenchmark(model: model).run(promptTokens: promptTokens, generateTokens: genTokens,
                                                        repetitions: repetitions, policy: policy, batch: batch)
        try printJSON(result)
    }
}
