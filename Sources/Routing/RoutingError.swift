import Foundation

/// Everything that can go wrong in the `Routing` module: router files, router shapes, training data
/// and configuration.
///
/// Messages name the file (or the item) and say what was expected, so a user can act on them
/// without reading code. `Equatable` so tests compare errors directly.
public enum RoutingError: LocalizedError, Equatable, Sendable {
    /// The router file could not be read at all.
    case unreadableFile(path: String, reason: String)
    /// The router file could not be written.
    case unwritableFile(path: String, reason: String)
    /// The file is shorter than the fixed preamble (magic, version, header length).
    case fileTooShort(path: String, bytes: Int, minimum: Int)
    /// The first 8 bytes are not the router-file magic.
    case badMagic(path: String, found: String)
    /// The file was written by a newer (or unknown) format version.
    case unsupportedVersion(path: String, found: UInt32, supported: UInt32)
    /// The JSON header is not valid or lacks a field.
    case malformedHeader(path: String, reason: String)
    /// The file's size does not match what its header promises (truncated or trailing bytes).
    case sizeMismatch(path: String, expectedBytes: Int, actualBytes: Int)
    /// The weights' CRC-32 does not match the header: the file is corrupted.
    case checksumMismatch(path: String, expected: String, actual: String)
    /// Hyper-parameters that cannot describe a router set (zero sizes and the like).
    case invalidHyperParameters(source: String, reason: String)
    /// A router's parameter vector has the wrong length for its shape.
    case parameterCountMismatch(source: String, layer: Int, expected: Int, actual: Int)
    /// The router file was trained for a different number of blocks than the model has.
    case layerCountMismatch(source: String, routers: Int, model: Int)
    /// The router file was trained for a different hidden width than the model has.
    case widthMismatch(source: String, routers: Int, model: Int)
    /// The router file was trained for another model (its provenance names that model's sha256).
    case trainedForAnotherModel(source: String, routersModel: String, routersSHA256: String, model: String, modelSHA256: String)
    /// A training example is inconsistent (shape, labels, window count).
    case invalidTrainingExample(index: Int, reason: String)
    /// Training was asked to run on no examples.
    case emptyTrainingSet
    /// A configuration value is out of range.
    case invalidConfiguration(item: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case let .unreadableFile(path, reason):
            return "cannot read router file '\(path)': \(reason)"
        case let .unwritableFile(path, reason):
            return "cannot write router file '\(path)': \(reason)"
        case let .fileTooShort(path, bytes, minimum):
            return "router file '\(path)' is \(bytes) bytes, shorter than the \(minimum)-byte preamble; expected a Dr.LLM router file"
        case let .badMagic(path, found):
            return "'\(path)' is not a Dr.LLM router file: magic is '\(found)', expected '\(RouterSetFile.magicString)'"
        case let .unsupportedVersion(path, found, supported):
            return "router file '\(path)' has format version \(found); this build reads version \(supported) or older"
        case let .malformedHeader(path, reason):
            return "router file '\(path)' has a malformed header: \(reason)"
        case let .sizeMismatch(path, expected, actual):
            return "router file '\(path)' is \(actual) bytes but its header describes \(expected) bytes (truncated or corrupted)"
        case let .checksumMismatch(path, expected, actual):
            return "router file '\(path)' weights are corrupted: CRC-32 is \(actual), header says \(expected)"
        case let .invalidHyperParameters(source, reason):
            return "router set '\(source)' has invalid hyper-parameters: \(reason)"
        case let .parameterCountMismatch(source, layer, expected, actual):
            return "router \(layer) in '\(source)' has \(actual) parameters, expected \(expected) for its shape"
        case let .layerCountMismatch(source, routers, model):
            return "router file '\(source)' has routers for \(routers) layers, but the model has \(model) layers; train routers for this model"
        case let .trainedForAnotherModel(source, routersModel, routersSHA256, model, modelSHA256):
            return "\(source) holds routers trained for model '\(routersModel)' (sha256 \(routersSHA256.prefix(12))…), "
                + "not for '\(model)' (sha256 \(modelSHA256.prefix(12))…): give the routers of '\(model)' with --router"
        case let .widthMismatch(source, routers, model):
            return "router file '\(source)' expects hidden width \(routers), but the model's hidden width is \(model); train routers for this model"
        case let .invalidTrainingExample(index, reason):
            return "training example \(index) is invalid: \(reason)"
        case .emptyTrainingSet:
            return "router training needs at least one example, got none"
        case let .invalidConfiguration(item, reason):
            return "invalid setting '\(item)': \(reason)"
        }
    }
}
