import Foundation

/// Why a tokenizer could not be built. Every message names the file (or "tokenizer" for one built
/// from explicit arrays), the metadata key involved and what was expected.
public enum TokenizerError: LocalizedError, Equatable {
    /// Reading a metadata value failed (missing key, wrong type); the GGUF error says which.
    case metadata(GGUFError)
    /// `tokenizer.ggml.model` is not "gpt2" (byte-level BPE).
    case unsupportedModel(file: String, model: String)
    /// `tokenizer.ggml.pre` names a pre-tokenizer this implementation does not know.
    case unknownPreTokenizer(file: String, name: String)
    /// The vocabulary arrays are inconsistent (lengths, duplicates, bad ids).
    case invalidVocabulary(file: String, key: String, reason: String)
    /// A flag asks for a special token whose id is not set.
    case missingSpecialToken(file: String, flagKey: String, idKey: String)

    public var errorDescription: String? {
        switch self {
        case let .metadata(error):
            return error.errorDescription
        case let .unsupportedModel(file, model):
            return "\(file): metadata key 'tokenizer.ggml.model' is '\(model)', expected 'gpt2' (byte-level BPE is the only tokenizer supported)"
        case let .unknownPreTokenizer(file, name):
            return "\(file): metadata key 'tokenizer.ggml.pre' is '\(name)', an unknown pre-tokenizer (supported: \(PreTokenizer.supportedNames.joined(separator: ", ")))"
        case let .invalidVocabulary(file, key, reason):
            return "\(file): metadata key '\(key)': \(reason)"
        case let .missingSpecialToken(file, flagKey, idKey):
            return "\(file): metadata key '\(flagKey)' is true, but '\(idKey)' is not set to a token of the vocabulary"
        }
    }
}
