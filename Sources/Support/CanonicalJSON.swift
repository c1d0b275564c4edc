import Foundation

/// The one JSON configuration used for every file the project writes and every JSON it prints.
///
/// Keys are sorted and slashes unescaped so that the same value always gives the same bytes;
/// doubles are written as the shortest text that reads back to the same bits, so a record read
/// back from disk is identical to the one written. Non-finite numbers (a log-likelihood of −∞)
/// are written as strings instead of crashing the run.
public enum CanonicalJSON {
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Pretty JSON with a trailing newline (summaries, configuration files).
    public static func prettyData<T: Encodable>(_ value: T) throws -> Data {
        var data = try encoder(pretty: true).encode(value)
        data.append(0x0A)
        return data
    }

    /// One line of JSON with a trailing newline (records).
    public static func lineData<T: Encodable>(_ value: T) throws -> Data {
        var data = try encoder(pretty: false).encode(value)
        data.append(0x0A)
        return data
    }

    /// A short description of a decoding error: which key, what was wrong.
    public static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return String(describing: error) }
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "top level" : "'\(p)'"
        }
        switch e {
        case let .keyNotFound(key, context):
            return "missing key '\(key.stringValue)' at \(path(context))"
        case let .typeMismatch(type, context):
            return "\(path(context)): expected \(type) (\(context.debugDescription))"
        case let .valueNotFound(type, context):
            return "\(path(context)): expected a \(type), found null"
        case let .dataCorrupted(context):
            return "\(path(context)): \(context.debugDescription)"
        @unknown default:
            return String(describing: e)
        }
    }
}
