import Foundation

/// A JSON document as parsed, with its types kept apart (a `true` is never the number 1), so a
/// request's fields can be checked one by one and refused with the field's name.
public indirect enum RequestJSON: Sendable, Equatable, Decodable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([RequestJSON])
    case object([String: RequestJSON])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null; return }
        if let b = try? c.decode(Bool.self) { self = .bool(b); return }
        if let i = try? c.decode(Int.self) { self = .integer(i); return }
        if let d = try? c.decode(Double.self) { self = .number(d); return }
        if let s = try? c.decode(String.self) { self = .string(s); return }
        if let a = try? c.decode([RequestJSON].self) { self = .array(a); return }
        if let o = try? c.decode([String: RequestJSON].self) { self = .object(o); return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a JSON value")
    }

    /// Parses `data` as one JSON document.
    public static func parse(_ data: Data) throws -> RequestJSON {
        try JSONDecoder().decode(RequestJSON.self, from: data)
    }

    /// The JSON type's name, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer: return "an integer"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
