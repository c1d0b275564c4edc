import CJSONC
import Foundation

/// A parsed JSON value. Objects keep their keys in file order, because TruthfulQA's answer order
/// (and so lm-eval's choice order) is the key order of its JSON objects.
public indirect enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// A short name of the value's kind, for error messages.
    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .int, .double: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// A JSON object with its members in file order.
public struct JSONObject: Sendable, Hashable {
    /// Member names in file order (a repeated name keeps its first position and its last value,
    /// as both json-c and Python's `json` do).
    public private(set) var keys: [String] = []
    private var values: [String: JSONValue] = [:]

    public init() {}

    /// The member called `key`, if present.
    public subscript(key: String) -> JSONValue? { values[key] }

    /// Members in file order.
    public var members: [(key: String, value: JSONValue)] { keys.map { ($0, values[$0]!) } }

    mutating func set(_ key: String, _ value: JSONValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }
}

/// Reads JSON and JSON Lines through json-c (strict mode, UTF-8 validated).
public enum JSONReader {
    /// Parses one JSON document; `file` names it in errors (with the line of the parse failure).
    public static func parseDocument(_ data: Data, file: String) throws -> JSONValue {
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> JSONValue in
            let bytes = raw.bindMemory(to: CChar.self)
            return try parse(bytes, file: file, lineOffset: 0, wholeBuffer: bytes)
        }
    }

    /// Parses a JSON Lines file: one object per non-blank line, each returned with its 1-based line number.
    public static func parseLines(_ data: Data, file: String) throws -> [(line: Int, value: JSONValue)] {
        var result: [(line: Int, value: JSONValue)] = []
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let bytes = raw.bindMemory(to: CChar.self)
            var lineStart = 0
            var lineNumber = 1
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
                var contentEnd = lineEnd
                if contentEnd > lineStart && bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<contentEnd])
                if line.contains(where: { !isJSONWhitespace($0) }) {
                    result.append((lineNumber, try parse(line, file: file, lineOffset: lineNumber - 1, wholeBuffer: line)))
                }
                lineStart = lineEnd + 1
                lineNumber += 1
            }
        }
        return result
    }

    private static func isJSONWhitespace(_ byte: CChar) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func parse(_ bytes: UnsafeBufferPointer<CChar>, file: String, lineOffset: Int,
                              wholeBuffer: UnsafeBufferPointer<CChar>) throws -> JSONValue {
        guard let tokener = json_tokener_new() else {
            throw BenchmarkDataError.malformedJSON(file: file, line: lineOffset + 1, reason: "json-c could not allocate a tokener")
        }
        defer { json_tokener_free(tokener) }
        json_tokener_set_flags(tokener, Int32(JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8))

        func lineOfOffset(_ offset: Int) -> Int {
            var line = lineOffset + 1
            for index in 0..<min(offset, bytes.count) where bytes[index] == 0x0A { line += 1 }
            return line
        }

        guard let base = bytes.baseAddress, bytes.count > 0 else {
            throw BenchmarkDataError.malformedJSON(file: file, line: lineOffset + 1, reason: "empty input")
        }
        let object = json_tokener_parse_ex(tokener, base, Int32(bytes.count))
        let error = json_tokener_get_error(tokener)
        let parseEnd = Int(json_tokener_get_parse_end(tokener))
        guard let object, error == json_tokener_success else {
            let reason: String
            if error == json_tokener_continue {
                reason = "unexpected end of input"
            } else {
                reason = String(cString: json_tokener_error_desc(error))
            }
            throw BenchmarkDataError.malformedJSON(file: file, line: lineOfOffset(parseEnd), reason: reason)
        }
        defer { json_object_put(object) }
        // json-c stops after the first complete value; anything but whitespace after it is an error.
        if parseEnd < bytes.count, bytes[parseEnd...].contains(where: { !isJSONWhitespace($0) }) {
            throw BenchmarkDataError.malformedJSON(file: file, line: lineOfOffset(parseEnd), reason: "unexpected text after the JSON value")
        }
        return convert(object)
    }

    /// Converts a json-c tree to `JSONValue` (the caller still owns and releases `object`).
    private static func convert(_ object: OpaquePointer?) -> JSONValue {
        guard let object else { return .null }
        switch json_object_get_type(object) {
        case json_type_null:
            return .null
        case json_type_boolean:
            return .bool(json_object_get_boolean(object) != 0)
        case json_type_int:
            return .int(json_object_get_int64(object))
        case json_type_double:
            return .double(json_object_get_double(object))
        case json_type_string:
            let length = Int(json_object_get_string_len(object))
            guard let pointer = json_object_get_string(object) else { return .string("") }
            let buffer = UnsafeRawBufferPointer(start: pointer, count: length)
            return .string(String(decoding: buffer, as: UTF8.self))
        case json_type_array:
            let count = json_object_array_length(object)
            var items: [JSONValue] = []
            items.reserveCapacity(count)
            for index in 0..<count { items.append(convert(json_object_array_get_idx(object, index))) }
            return .array(items)
        case json_type_object:
            var result = JSONObject()
            var iterator = json_object_iter_begin(object)
            var end = json_object_iter_end(object)
            while json_object_iter_equal(&iterator, &end) == 0 {
                let key = String(cString: json_object_iter_peek_name(&iterator))
                result.set(key, convert(json_object_iter_peek_value(&iterator)))
                json_object_iter_next(&iterator)
            }
            return .object(result)
        default:
            return .null
        }
    }
}

/// One JSON object from a data file, with the file and line it came from, and accessors that
/// turn a missing or mistyped field into a `BenchmarkDataError.malformedRow` naming both.
struct JSONRecord: Sendable {
    let object: JSONObject
    let file: String
    let line: Int

    init(_ value: JSONValue, file: String, line: Int) throws {
        guard case .object(let object) = value else {
            throw BenchmarkDataError.malformedRow(file: file, line: line, reason: "expected a JSON object, found \(value.kindName)")
        }
        self.object = object
        self.file = file
        self.line = line
    }

    func failure(_ reason: String) -> BenchmarkDataError {
        .malformedRow(file: file, line: line, reason: reason)
    }

    func value(_ key: String) throws -> JSONValue {
        guard let value = object[key] else { throw failure("field '\(key)' is missing") }
        return value
    }

    func string(_ key: String) throws -> String {
        let value = try value(key)
        guard case .string(let text) = value else { throw failure("field '\(key)' should be a string, found \(value.kindName)") }
        return text
    }

    /// A string field that may be absent or null.
    func optionalString(_ key: String) throws -> String? {
        guard let value = object[key] else { return nil }
        switch value {
        case .null: return nil
        case .string(let text): return text
        default: throw failure("field '\(key)' should be a string or null, found \(value.kindName)")
        }
    }

    func int(_ key: String) throws -> Int64 {
        let value = try value(key)
        guard case .int(let number) = value else { throw failure("field '\(key)' should be an integer, found \(value.kindName)") }
        return number
    }

    func bool(_ key: String) throws -> Bool {
        let value = try value(key)
        guard case .bool(let flag) = value else { throw failure("field '\(key)' should be a boolean, found \(value.kindName)") }
        return flag
    }

    func array(_ key: String) throws -> [JSONValue] {
        let value = try value(key)
        guard case .array(let items) = value else { throw failure("field '\(key)' should be an array, found \(value.kindName)") }
        return items
    }

    func stringArray(_ key: String) throws -> [String] {
        try array(key).enumerated().map { index, item in
            guard case .string(let text) = item else {
                throw failure("field '\(key)'[\(index)] should be a string, found \(item.kindName)")
            }
            return text
        }
    }

    func record(_ key: String) throws -> JSONRecord {
        try JSONRecord(value(key), file: file, line: line)
    }
}
