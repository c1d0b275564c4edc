import Benchmarks
import Engine
import Foundation
import Routing
import Support

/// Which configurations `bench run` executes.
public enum RunConfigurations: String, CaseIterable, Sendable {
    case baseline, routed, both
}

/// Everything a run needs, as parsed from the command line (`bench run`).
public struct RunRequest {
    /// The model and its registry entry.
    public var model: ResolvedModel
    /// Threads for the engine's kernels.
    public var threads: Int
    /// Benchmark names, suites already expanded (`BenchmarkRegistry.resolve`).
    public var tasks: [String]
    /// Baseline, routed or both; ignored with `fixedPath`.
    public var configurations: RunConfigurations
    /// The router file; nil for the model's default (`ModelEntry.routers`).
    public var routerFile: String?
    /// A fixed layer path run as its own configuration (`--path`), named `name`.
    public var fixedPath: String?
    /// The run's folder name for `fixedPath` or a renamed routed run.
    public var name: String?
    /// The routers' control knob, for a routed run.
    public var routerBlend: RouterBlend?
    /// What the routers read for a scoring request, for a routed run.
    public var routingInput: RoutingInput = .context
    /// First N documents of each task (of each subtask for groups).
    public var limit: Int?
    /// Few-shot examples where lm-eval lets the count change.
    public var fewshot: Int?
    /// Few-shot sampling seed.
    public var seed: UInt64
    /// Cap on generated tokens of generative tasks.
    public var maxGenerationTokens: Int?
    /// The model's chat template (from its GGUF or `--chat-template`).
    public var chatTemplate: any ChatTemplate
    /// Settings recorded beside the others (e.g. an explicit template choice).
    public var extraSettings: [String: String]
    /// Results folder.
    public var resultsFolder: URL
    /// Delete each task's results and start over.
    public var force: Bool
    /// Version recorded in every configuration.
    public var benchVersion: String
    /// The shard of a split run; its results go to `<results>/shards/<I>-of-<N>/`.
    public var shard: Shard? = nil
    /// The backend that evaluates the model.
    public var backend: Backend = .native
    /// Documents sent to the model together (`RunSettings.batchSize`): records do not depend on
    /// it; smaller batches lose less to an interruption, larger ones keep more sequences decoding.
    public var documentsPerBatch: Int = 16

    public init(model: ResolvedModel, threads: Int, tasks: [String], configurations: RunConfigurations,
                routerFile: String?, fixedPath: String?, name: String?, routerBlend: RouterBlend?, limit: Int?,
                fewshot: Int?, seed: UInt64, maxGenerationTokens: Int?, chatTemplate: any ChatTemplate,
                extraSettings: [String: String], resultsFolder: URL, force: Bool, benchVersion: String, shard: Shard? = nil) {
        self.model = model
        self.threads = threads
        self.tasks = tasks
        self.configurations = configurations
        self.routerFile = routerFile
        self.fixedPath = fixedPath
        self.name = name
        self.routerBlend = routerBlend
        self.limit = limit
        self.fewshot = fewshot
        self.seed = seed
        self.maxGenerationTokens = maxGenerationTokens
        self.chatTemplate = chatTemplate
        self.extraSettings = extraSettings
        self.resultsFolder = resultsFolder
        self.force = force
        self.benchVersion = benchVersion
        self.shard = shard
    }
}

/// Router files as runs use them: the model's default when none is named, refused when trained
/// for another model or shaped for another architecture.
public enum RouterFiles {
    /// Loads the routers for `model` (whose file has digest `modelSHA256`) from `file` (nil: the
    /// model's default from the registry).
    public static func load(_ file: String?, for model: ResolvedModel, modelSHA256: String,
                            hint: String) throws -> (set: RouterSet, file: String, sha256: String) {
        guard let file = file ?? model.entry?.routers else { throw RunError.noDefaultFile(model: model.name, option: "--router") }
        guard FileManager.default.fileExists(atPath: file) else { throw RunError.missingRouterFile(path: file, hint: hint) }
        let routers = try RouterSet.load(from: file)
        try routers.checkTrained(forModel: model.name, sha256: modelSHA256)
        return (routers, file, try FileDigest.sha256(path: file))
    }
}

/// `bench run` as a library function: check everything that can be refused, load the model once,
/// then run (or resume) every task under every configuration.
public enum RunWorkflow {
    /// Runs the request; `shouldStop` is polled between batches (SIGINT).
    public static func run(_ request: RunRequest, shouldStop: @escaping @Sendable () -> Bool = { false }) throws -> [TaskSummary] {
        let root = request.shard.map {
            request.resultsFolder.appendingPathComponent(ResultsStore.shardsFolder).appendingPathComponent($0.folderName)
        } ?? request.resultsFolder
        let store = ResultsStore(root: root)
        try store.prepare()

        // Everything that can be refused is checked before the model loads and before any run.
        // The model file is hashed once (hundreds of MB for the larger models).
        // A served model's weights are not here: its file stands only for the tokenizer, whose digest
        // is recorded as a setting instead.
        let fileSHA256 = try FileDigest.sha256(path: request.model.path)
        let modelSHA256 = request.backend.weightsAreLocal ? fileSHA256 : ""
        if !request.backend.weightsAreLocal && (request.fixedPath != nil || request.configurations != .baseline) {
            throw RunError.notRoutable(model: request.model.name, run: request.fixedPath != nil ? request.name ?? "path" : "routed")
        }
        var routers: (set: RouterSet, file: String, sha256: String)?
        if request.fixedPath == nil && request.configurations != .baseline {
            routers = try RouterFiles.load(request.routerFile, for: request.model, modelSHA256: modelSHA256,
                                           hint: "train one with `bench train-router`, or run --config baseline")
            routers!.set.blend = request.routerBlend
            routers!.set.routingInput = request.routingInput
        }
        let tasksDirectory = try TasksDirectory.locate()
        let options = BenchmarkOptions(fewshot: request.fewshot, fewshotSeed: Int(request.seed), chatTemplate: request.chatTemplate,
                                       maxGenerationTokens: request.maxGenerationTokens)
        let benchmarks = try request.tasks.map { try BenchmarkRegistry.load($0, from: tasksDirectory, options: options) }

        let model = try request.backend.make(model: request.model, threads: request.threads)
        var policies: [RunPolicy] = []
        if request.fixedPath != nil || routers != nil {
            // Paths and routers need a model whose blocks run here.
            guard let routable = model as? TransformerModel else {
                throw RunError.notRoutable(model: model.name, run: request.name ?? "routed")
            }
            if let text = request.fixedPath {
                let path = try LayerPath.parse(text)
                try path.validate(layerCount: routable.layerCount)
                policies = [.fixed(path, name: request.name ?? "path")]
            } else if let routers {
                try routers.set.validate(layerCount: routable.layerCount, width: routable.configuration.width)
            }
        }
        if request.fixedPath == nil {
            if request.configurations != .routed {
                // A served model's baseline may be named, to sit beside the native one it is compared with.
                policies.append(.baseline(name: request.backend.weightsAreLocal ? "baseline" : request.name ?? "baseline"))
            }
            if let routers {
                policies.append(.routed(routers.set, sha256: routers.sha256, file: routers.file, name: request.name ?? "routed"))
            }
        }
        var extraSettings = request.extraSettings.merging(request.backend.settings) { _, backend in backend }
        if !request.backend.weightsAreLocal { extraSettings["tokenizer_sha256"] = fileSHA256 }
        if let cap = request.maxGenerationTokens { extraSettings["max_gen_tokens"] = String(cap) }
        let settings = RunSettings(modelName: request.model.name, modelSHA256: modelSHA256,
                                   benchVersion: request.benchVersion, limit: request.limit, fewshotRequested: request.fewshot,
                                   seed: request.seed, chatTemplate: request.chatTemplate.isChat, force: request.force,
                                   batchSize: request.documentsPerBatch, extraSettings: extraSettings)
        var shardedSettings = settings
        shardedSettings.shard = request.shard
        shardedSettings.codeVersion = CodeVersion.current(repositoryDirectory: tasksDirectory.deletingLastPathComponent())
        shardedSettings.blasCore = request.backend.weightsAreLocal ? OpenBLASCore.name : nil
        let runner = SuiteRunner(model: model, store: store, settings: shardedSettings, shouldStop: shouldStop)
        return try runner.run(benchmarks, policies: policies)
    }
}
