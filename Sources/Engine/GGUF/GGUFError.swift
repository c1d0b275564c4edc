import Foundation

/// Why a GGUF file was refused. Every message names the file and what was expected.
public enum GGUFError: LocalizedError, Equatable {
    case cannotOpen(file: String, reason: String)
    case badMagic(file: String, found: String)
    case unsupportedVersion(file: String, version: UInt32)
    case truncated(file: String, at: Int, needed: Int, context: String)
    case invalidValueType(file: String, key: String, raw: UInt32)
    case invalidString(file: String, context: String)
    case implausibleCount(file: String, context: String, count: UInt64)
    case badAlignment(file: String, value: Int)
    case unknownTensorType(file: String, tensor: String, raw: UInt32)
    case unsupportedTensorType(file: String, tensor: String, type: String)
    case badTensorShape(file: String, tensor: String, reason: String)
    case tensorOutOfBounds(file: String, tensor: String, end: Int, fileSize: Int)
    case missingKey(file: String, key: String, expected: String)
    case wrongKeyType(file: String, key: String, expected: String, found: String)
    case missingTensor(file: String, tensor: String)
    case unexpectedTensorShape(file: String, tensor: String, expected: [Int], found: [Int])
    case unsupportedArchitecture(file: String, architecture: String)
    case duplicateTensor(file: String, tensor: String)

    public var errorDescription: String? {
        switch self {
        case let .cannotOpen(file, reason): return "\(file): cannot open model file: \(reason)"
        case let .badMagic(file, found): return "\(file): not a GGUF file (magic is \(found), expected 'GGUF')"
        case let .unsupportedVersion(file, v): return "\(file): GGUF version \(v) is not supported (expected 2 or 3)"
        case let .truncated(file, at, needed, context):
            return "\(file): file is truncated while reading \(context) at byte \(at) (needed \(needed) more bytes)"
        case let .invalidValueType(file, key, raw):
            return "\(file): metadata key '\(key)' has unknown value type \(raw) (expected 0...12)"
        case let .invalidString(file, context): return "\(file): \(context) is not valid UTF-8"
        case let .implausibleCount(file, context, count):
            return "\(file): \(context) count \(count) cannot fit in the file (truncated or corrupt header)"
        case let .badAlignment(file, value):
            return "\(file): general.alignment = \(value), expected a positive power of two"
        case let .unknownTensorType(file, tensor, raw):
            return "\(file): tensor '\(tensor)' has unknown ggml type id \(raw)"
        case let .unsupportedTensorType(file, tensor, type):
            return "\(file): tensor '\(tensor)' uses type \(type), which is not supported (supported: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q4_K, q5_K, q6_K)"
        case let .badTensorShape(file, tensor, reason): return "\(file): tensor '\(tensor)': \(reason)"
        case let .tensorOutOfBounds(file, tensor, end, size):
            return "\(file): tensor '\(tensor)' data ends at byte \(end), past the end of the file (\(size) bytes): file truncated?"
        case let .missingKey(file, key, expected): return "\(file): metadata key '\(key)' is missing (expected \(expected))"
        case let .wrongKeyType(file, key, expected, found):
            return "\(file): metadata key '\(key)' is \(found), expected \(expected)"
        case let .missingTensor(file, tensor): return "\(file): required tensor '\(tensor)' is missing"
        case let .unexpectedTensorShape(file, tensor, expected, found):
            return "\(file): tensor '\(tensor)' has shape \(found), expected \(expected)"
        case let .unsupportedArchitecture(file, arch):
            return "\(file): architecture '\(arch)' is not supported (supported: \(DecoderArchitectures.names.joined(separator: ", ")))"
        case let .duplicateTensor(file, tensor): return "\(file): tensor '\(tensor)' appears twice"
        }
    }
}
