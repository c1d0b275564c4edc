import ArgumentParser
import Engine
import Foundation
import Benchmarks
import OpenAIBackend
import Routing
import Runs
import Support

/// Options that pick and load a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model: a name from `bench models` (default: the registry's default model) or a path to a .gguf file.")
    var model: String?

    @Option(name: .long, help: "Threads for matrix kernels.")
    var threads: Int = 2

    @Option(name: .customLong("chat-template"),
            help: "Chat template for the paper's in-domain prompt forms (letter ARC, DART): chatml or plain. Default: the one in the model's GGUF.")
    var chatTemplate: ChatTemplateFamily?

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    /// The model's file and registry entry (nothing is read from the file yet).
    func resolve() throws -> ResolvedModel {
        let locator = ModelLocator()
        return try locator.resolve(model ?? locator.registry().defaultModel)
    }

    /// Loads the whole model (weights included) or fails with a message naming the file.
    func load() throws -> TransformerModel {
        let resolved = try resolve()
        return try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
    }

    /// The model's chat template, read from its GGUF metadata (no weights are loaded), or the
    /// family `--chat-template` names.
    func template(of resolved: ResolvedModel) throws -> any ChatTemplate {
        let jinja = try GGUFFile(path: resolved.path).metadata["tokenizer.chat_template"]?.stringValue
        return try ChatTemplateFamily.template(forModel: resolved.name, jinja: jinja, override: chatTemplate)
    }

    /// Settings to record in a run's configuration for the template choice: only an explicit
    /// `--chat-template` (the default follows the model file, whose sha256 is recorded already).
    var templateSettings: [String: String] {
        chatTemplate.map { ["chat_template_override": $0.rawValue] } ?? [:]
    }
}

extension ChatTemplateFamily: ExpressibleByArgument {}
extension PromptEncoding: ExpressibleByArgument {}

/// `--backend` and the options of a served model (`--backend openai`).
struct BackendOptions: ParsableArguments {
    @Option(help: "native (this engine) or openai (a model behind an OpenAI-compatible completions server: vLLM, SGLang, llama.cpp, `bench serve`; baseline only).")
    var backend: String = "native"
    @Option(name: .customLong("base-url"), help: "With --backend openai: the server's API root, e.g. http://127.0.0.1:8000/v1.")
    var baseURL: String?
    @Option(help: "With --backend openai: the GGUF whose tokenizer and context length the served model has, a name from `bench models` or a path (default: --model, when it names one).")
    var tokenizer: String?
    @Option(name: .customLong("served-model"), help: "With --backend openai: the `model` field of requests (default: --model).")
    var servedModel: String?
    @Option(name: .customLong("api-key"), help: "With --backend openai: bearer token (default: $OPENAI_API_KEY when set).")
    var apiKey: String?
    @Option(help: "With --backend openai: requests in flight at once.")
    var concurrency: Int = 4
    @Option(help: "With --backend openai: seconds one request may take before it is retried.")
    var timeout: Double = 600
    @Option(help: "With --backend openai: retries after connection errors, timeouts, 408, 429 and 5xx (exponential backoff from 0.5 s).")
    var retries: Int = 5
    @Option(name: .customLong("prompt-encoding"), help: "With --backend openai: tokens (ids from the tokenizer, as lm-eval sends them) or text (for servers that take only text, like llama.cpp's).")
    var promptEncoding: PromptEncoding = .tokens

    var isServed: Bool { backend == "openai" }

    func validate() throws {
        guard Backend.names.contains(backend) else {
            throw ValidationError("unknown --backend '\(backend)': expected \(Backend.names.joined(separator: " or "))")
        }
        if isServed {
            guard let baseURL else { throw ValidationError("--backend openai needs --base-url (e.g. http://127.0.0.1:8000/v1)") }
            do { _ = try OpenAIServer.parseBaseURL(baseURL) } catch { throw ValidationError(error.localizedDescription) }
            guard concurrency >= 1 && concurrency <= 256 else { throw ValidationError("--concurrency must be between 1 and 256") }
            guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
            guard retries >= 0 && retries <= 100 else { throw ValidationError("--retries must be between 0 and 100") }
        } else {
            let given = [("--base-url", baseURL), ("--tokenizer", tokenizer), ("--served-model", servedModel), ("--api-key", apiKey)]
            if let (option, _) = given.first(where: { $0.1 != nil }) {
                throw ValidationError("\(option) applies to --backend openai only")
            }
        }
    }

    /// The backend, and the model as runs store it: for a served model, its name (`--model`) and
    /// the tokenizer's GGUF (`--tokenizer`, or the registry's file for `--model`).
    func resolve(model: String?, locator: ModelLocator = ModelLocator()) throws -> (backend: Backend, model: ResolvedModel) {
        guard isServed else { return (.native, try locator.resolve(model ?? locator.registry().defaultModel)) }
        guard let model else { throw ValidationError("--backend openai needs --model (the name results are stored under)") }
        let named = try? locator.resolve(model)
        let tokenizerFile: ResolvedModel
        if let tokenizer {
            tokenizerFile = try locator.resolve(tokenizer)
        } else if let named {
            tokenizerFile = named
        } else {
            throw ValidationError("--backend openai: '\(model)' is not a model from `bench models`, so name its tokenizer with --tokenizer (a registry name or a .gguf path)")
        }
        let server = OpenAIServer(baseURL: try OpenAIServer.parseBaseURL(baseURL ?? ""), servedModel: servedModel ?? model,
                                  apiKey: apiKey ?? ProcessInfo.processInfo.environment["OPENAI_API_KEY"].flatMap { $0.isEmpty ? nil : $0 },
                                  concurrency: concurrency, timeoutSeconds: timeout, retries: retries,
                                  promptEncoding: promptEncoding)
        let name = named?.name ?? model
        return (.openAI(server), ResolvedModel(name: name, path: tokenizerFile.path, entry: named?.entry))
    }
}

/// A value as pretty JSON with sorted keys (what every command prints or writes).
func jsonData<T: Encodable>(_ value: T) throws -> Data {
    try CanonicalJSON.encoder(pretty: true).encode(value)
}

/// Writes a value as pretty JSON with sorted keys on stdout.
func printJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try jsonData(value))
    FileHandle.standardOutput.write("\n".data(using: .utf8)!)
}

/// Parses `--path` into a validated layer path for `layerCount` blocks.
func parsePath(_ text: String?, layerCount: Int) throws -> LayerPolicy {
    guard let text else { return .full }
    do {
        let path = try LayerPath.parse(text)
        try path.validate(layerCount: layerCount)
        return .fixed(path)
    } catch {
        throw ValidationError("--path: \(error.description)")
    }
}

/// `--shard I/N` and `--shards N`: which share of the work this process does. Without `--shard`,
/// a Slurm array task or a Kubernetes Indexed Job supplies it through the environment.
struct ShardOptions: ParsableArguments {
    @Option(help: "Do shard I of N of the work (1-based, e.g. 1/3); results go to <results>/shards/I-of-N/. Default: from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX when set.")
    var shard: String?
    @Option(help: "The shard count when the scheduler gives only an index (Kubernetes JOB_COMPLETION_INDEX; or set DRLLM_SHARDS).")
    var shards: Int?

    /// The shard to do, nil for all of the work.
    func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Shard? {
        if let shard { return try Shard(parsing: shard) }
        return try Shard.fromEnvironment(environment, count: shards)
    }
}
