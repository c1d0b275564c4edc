import Foundation
import Support

/// How a run chose its layer paths.
public enum PolicyKind: String, Codable, Hashable, Sendable {
    /// Every block once (the `baseline` run).
    case full
    /// Paths decided per sequence by a router set (the `routed` run).
    case routers
    /// One fixed path for every sequence (`--path`).
    case fixed
}

/// Everything that determines the records of one task in one run.
///
/// Written at run start as `<task>.config.json` (so a resumed run can check it before touching
/// the records) and again inside `<task>.json`. Versioned: missing keys read as their defaults
/// (so older files stay readable) and files from a newer format are refused.
///
/// Keys that decide the numbers (model and data hashes, policy, few-shot, seed, …) must match for
/// a run to resume; `limit` may grow (documents are taken in order, so the first N records stay
/// valid) but never shrink; `routerFile` and `fewshotRequested` are informational.
public struct RunConfiguration: Codable, Hashable, Sendable {
    /// The format version this bench writes.
    public static let currentFormatVersion = 1

    /// Format version of the file this was read from.
    public var formatVersion: Int
    /// Version of the bench that produced the records.
    public var benchVersion: String
    /// Run name: the folder under `results/<model>/` (`baseline`, `routed`, or `--name`).
    public var run: String
    /// Task (registry name).
    public var task: String
    /// Model name: the folder under `results/`.
    public var model: String
    /// sha256 of the model file (hex).
    public var modelSHA256: String
    /// Number of blocks of the model.
    public var layerCount: Int
    /// How layer paths were chosen.
    public var policy: PolicyKind
    /// sha256 of the router file for `.routers`, else nil.
    public var routerSHA256: String?
    /// The router file as given on the command line (informational; the hash is what counts).
    public var routerFile: String?
    /// The path for `.fixed`, else nil.
    public var fixedPath: [Int]?
    /// sha256 of the task's data (as the benchmark reports it).
    public var dataSHA256: String
    /// Few-shot examples per document actually used.
    public var fewshot: Int
    /// `--fewshot` as given, nil when the task default was used (informational).
    public var fewshotRequested: Int?
    /// First N documents, or nil for all.
    public var limit: Int?
    /// Seed for few-shot sampling and anything else random.
    public var seed: UInt64
    /// Whether prompts went through the model's chat template.
    public var chatTemplate: Bool
    /// Any further setting that changes the numbers (task version, generation caps, …).
    public var settings: [String: String]
    /// The code that wrote the records: each distinct `git` commit of the repository a run or a
    /// resume of it ran from, in order (`-dirty` when tracked files had changes); nil where no git
    /// checkout was found. Informational: the numbers are pinned by the checks above, and the
    /// tests prove code changes keep them.
    public var codeVersions: [String]?
    /// OpenBLAS's kernel families that computed the records (`OpenBLASCore.name` of each run or
    /// resume, in order), nil for a served model or where not recorded. Informational, like
    /// `codeVersions`: a family fixes the last bits of log-likelihoods (see `OpenBLASCore`), so
    /// records from different families agree to about 1e-6, not byte for byte.
    public var blasCores: [String]?

    public init(benchVersion: String, run: String, task: String, model: String, modelSHA256: String,
                layerCount: Int, policy: PolicyKind, routerSHA256: String? = nil, routerFile: String? = nil,
                fixedPath: [Int]? = nil, dataSHA256: String, fewshot: Int, fewshotRequested: Int? = nil,
                limit: Int? = nil, seed: UInt64, chatTemplate: Bool, settings: [String: String] = [:]) {
        self.formatVersion = Self.currentFormatVersion
        self.benchVersion = benchVersion
        self.run = run
        self.task = task
        self.model = model
        self.modelSHA256 = modelSHA256
        self.layerCount = layerCount
        self.policy = policy
        self.routerSHA256 = routerSHA256
        self.routerFile = routerFile
        self.fixedPath = fixedPath
        self.dataSHA256 = dataSHA256
        self.fewshot = fewshot
        self.fewshotRequested = fewshotRequested
        self.limit = limit
        self.seed = seed
        self.chatTemplate = chatTemplate
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case benchVersion = "bench_version"
        case run, task, model
        case modelSHA256 = "model_sha256"
        case layerCount = "layer_count"
        case policy
        case routerSHA256 = "router_sha256"
        case routerFile = "router_file"
        case fixedPath = "fixed_path"
        case dataSHA256 = "data_sha256"
        case fewshot
        case fewshotRequested = "fewshot_requested"
        case limit, seed
        case chatTemplate = "chat_template"
        case settings
        case codeVersions = "code_versions"
        case blasCores = "blas_cores"
    }

    /// Reads a configuration, filling keys that older files lack with defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        formatVersion = try c.decodeIfPresent(Int.self, forKey: .formatVersion) ?? 1
        benchVersion = try c.decodeIfPresent(String.self, forKey: .benchVersion) ?? ""
        run = try c.decodeIfPresent(String.self, forKey: .run) ?? ""
        task = try c.decodeIfPresent(String.self, forKey: .task) ?? ""
        model = try c.decodeIfPresent(String.self, forKey: .model) ?? ""
        modelSHA256 = try c.decodeIfPresent(String.self, forKey: .modelSHA256) ?? ""
        layerCount = try c.decodeIfPresent(Int.self, forKey: .layerCount) ?? 0
        policy = try c.decodeIfPresent(PolicyKind.self, forKey: .policy) ?? .full
        routerSHA256 = try c.decodeIfPresent(String.self, forKey: .routerSHA256)
        routerFile = try c.decodeIfPresent(String.self, forKey: .routerFile)
        fixedPath = try c.decodeIfPresent([Int].self, forKey: .fixedPath)
        dataSHA256 = try c.decodeIfPresent(String.self, forKey: .dataSHA256) ?? ""
        fewshot = try c.decodeIfPresent(Int.self, forKey: .fewshot) ?? 0
        fewshotRequested = try c.decodeIfPresent(Int.self, forKey: .fewshotRequested)
        limit = try c.decodeIfPresent(Int.self, forKey: .limit)
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
        chatTemplate = try c.decodeIfPresent(Bool.self, forKey: .chatTemplate) ?? false
        settings = try c.decodeIfPresent([String: String].self, forKey: .settings) ?? [:]
        codeVersions = try c.decodeIfPresent([String].self, forKey: .codeVersions)
        blasCores = try c.decodeIfPresent([String].self, forKey: .blasCores)
    }

    /// The differences that forbid resuming `stored` results with this configuration, in key
    /// order; empty when resuming is safe.
    public func changes(from stored: RunConfiguration) -> [ConfigurationChange] {
        var out: [ConfigurationChange] = []
        func check<T: Equatable>(_ key: CodingKeys, _ old: T, _ new: T, _ show: (T) -> String) {
            if old != new { out.append(ConfigurationChange(key: key.rawValue, old: show(old), new: show(new))) }
        }
        let text: (String) -> String = { "'\($0)'" }
        let optionalText: (String?) -> String = { $0.map { "'\($0)'" } ?? "none" }
        check(.benchVersion, stored.benchVersion, benchVersion, text)
        check(.run, stored.run, run, text)
        check(.task, stored.task, task, text)
        check(.model, stored.model, model, text)
        check(.modelSHA256, stored.modelSHA256, modelSHA256, text)
        check(.layerCount, stored.layerCount, layerCount, String.init)
        check(.policy, stored.policy, policy) { "'\($0.rawValue)'" }
        check(.routerSHA256, stored.routerSHA256, routerSHA256, optionalText)
        check(.fixedPath, stored.fixedPath, fixedPath) { $0.map { "'\($0.map(String.init).joined(separator: ","))'" } ?? "none" }
        check(.dataSHA256, stored.dataSHA256, dataSHA256, text)
        check(.fewshot, stored.fewshot, fewshot, String.init)
        check(.seed, stored.seed, seed, String.init)
        check(.chatTemplate, stored.chatTemplate, chatTemplate, String.init)
        // Documents are taken in order, so a larger limit extends the same records; a smaller one
        // would leave records beyond it that an uninterrupted run would not have.
        let oldLimit = stored.limit ?? Int.max, newLimit = limit ?? Int.max
        if newLimit < oldLimit {
            out.append(ConfigurationChange(key: CodingKeys.limit.rawValue,
                                           old: stored.limit.map(String.init) ?? "none (all documents)",
                                           new: "\(newLimit) (a limit may grow, never shrink)"))
        }
        for key in Set(stored.settings.keys).union(settings.keys).sorted() where stored.settings[key] != settings[key] {
            out.append(ConfigurationChange(key: "settings.\(key)", old: optionalText(stored.settings[key]),
                                           new: optionalText(settings[key])))
        }
        return out
    }
}
