import ArgumentParser
import Engine
import Foundation
import Benchmarks
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
