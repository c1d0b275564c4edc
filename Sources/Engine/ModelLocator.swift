import Foundation

/// Resolves a model argument — a known name or a path to a `.gguf` file — to a file path.
public struct ModelLocator: Sendable {
    /// Known model names and their file names under `models/`.
    public static let knownModels: [String: String] = [
        "smollm2-135m-instruct": "SmolLM2-135M-Instruct.Q4_1.gguf",
    ]
    /// The default model name.
    public static let defaultModel = "smollm2-135m-instruct"

    /// Folders searched for `models/`, in order: `$DRLLM_MODELS_DIR`, then `models/` in the current
    /// directory and its ancestors, then next to the executable and its ancestors.
    public var searchDirectories: [URL]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        var dirs: [URL] = []
        if let d = environment["DRLLM_MODELS_DIR"] { dirs.append(URL(fileURLWithPath: d)) }
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
        dirs += ancestors(of: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        dirs += ancestors(of: URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent())
        searchDirectories = dirs
    }

    /// The file for `model`, or an error saying where it looked.
    public func resolve(_ model: String) throws(ModelLocatorError) -> (name: String, path: String) {
        if model.hasSuffix(".gguf") || model.contains("/") {
            guard FileManager.default.fileExists(atPath: model) else { throw .fileNotFound(model) }
            let name = URL(fileURLWithPath: model).deletingPathExtension().lastPathComponent.lowercased()
            return (name, model)
        }
        guard let file = Self.knownModels[model.lowercased()] else {
            throw .unknownName(model, known: Self.knownModels.keys.sorted())
        }
        for dir in searchDirectories {
            let p = dir.appendingPathComponent(file).path
            if FileManager.default.fileExists(atPath: p) { return (model.lowercased(), p) }
        }
        throw .notInstalled(model, file: file)
    }
}

/// Why a model argument could not be resolved.
public enum ModelLocatorError: LocalizedError, Equatable {
    case fileNotFound(String)
    case unknownName(String, known: [String])
    case notInstalled(String, file: String)

    public var errorDescription: String? {
        switch self {
        case let .fileNotFound(p): return "model file '\(p)' does not exist"
        case let .unknownName(n, known):
            return "unknown model '\(n)': give a path to a .gguf file or one of: \(known.joined(separator: ", "))"
        case let .notInstalled(n, file):
            return "model '\(n)' is not installed: \(file) was not found under models/ (run scripts/setup.sh, or set DRLLM_MODELS_DIR)"
        }
    }
}
