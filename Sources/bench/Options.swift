import ArgumentParser
import Engine
import Foundation
import Routing

/// Options that pick and load a model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "Model name (\(ModelLocator.knownModels.keys.sorted().joined(separator: ", "))) or a path to a .gguf file.")
    var model: String = ModelLocator.defaultModel

    @Option(name: .long, help: "Threads for matrix kernels.")
    var threads: Int = 2

    func validate() throws {
        guard threads >= 1 && threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
    }

    /// Loads the model or fails with a message naming the file.
    func load() throws -> TransformerModel {
        let (name, path) = try ModelLocator().resolve(model)
        return try TransformerModel(path: path, name: name, threads: threads)
    }
}

/// A value as pretty JSON with sorted keys (what every command prints or writes).
func jsonData<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
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

/// Loads the RouterSet named by `--router`; a missing file is refused with `hint` on what to do.
func loadRouterSet(_ path: String, hint: String) throws -> RouterSet {
    guard FileManager.default.fileExists(atPath: path) else {
        throw ValidationError("--router: \(path) does not exist (\(hint))")
    }
    return try RouterSet.load(from: path)
}
