import CCSV
import Foundation

/// One CSV record and the physical line on which it starts (1-based).
public struct CSVRow: Sendable, Hashable {
    public var fields: [String]
    public var line: Int
}

/// Reads CSV through libcsv in strict mode, the way Python's `csv.reader` sees the file:
/// CRLF or LF line endings, quoted fields that span lines, `""` escapes, no trimming of spaces,
/// and a UTF-8 byte-order mark at the start ignored (TruthfulQA's CSV has one).
public enum CSVReader {
    /// Parses `data`; `file` names it in errors.
    public static func rows(in data: Data, file: String) throws -> [CSVRow] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        var parser = csv_parser()
        guard csv_init(&parser, UInt8(CSV_STRICT | CSV_STRICT_FINI)) == 0 else {
            throw BenchmarkDataError.malformedCSV(file: file, line: 1, reason: "libcsv could not initialise")
        }
        defer { csv_free(&parser) }
        // libcsv trims spaces and tabs around unquoted fields by default; Python does not, and
        // MMLU has fields with significant leading and trailing spaces.
        csv_set_space_func(&parser) { _ in 0 }

        let collector = Collector(file: file)
        let context = Unmanaged.passUnretained(collector).toOpaque()
        let fieldEnded: @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Void = { pointer, length, context in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            collector.addField(pointer.map { UnsafeRawBufferPointer(start: $0, count: length) } ?? UnsafeRawBufferPointer(start: nil, count: 0))
        }
        let rowEnded: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Void = { _, context in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            collector.endRow()
        }

        // Feed one physical line at a time so that the callbacks know which line they are on.
        try bytes.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                var end = start
                while end < buffer.count && buffer[end] != 0x0A { end += 1 }
                if end < buffer.count { end += 1 }  // include the newline
                let chunk = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[start..<end])
                let consumed = csv_parse(&parser, chunk.baseAddress, chunk.count, fieldEnded, rowEnded, context)
                if consumed != chunk.count {
                    throw BenchmarkDataError.malformedCSV(
                        file: file, line: collector.currentLine, reason: String(cString: csv_strerror(csv_error(&parser))))
                }
                if let failure = collector.failure { throw failure }
                collector.currentLine += 1
                start = end
            }
        }
        collector.currentLine = max(1, collector.currentLine - 1)
        if csv_fini(&parser, fieldEnded, rowEnded, context) != 0 {
            throw BenchmarkDataError.malformedCSV(
                file: file, line: collector.currentLine,
                reason: "the file ends inside a quoted field (\(String(cString: csv_strerror(csv_error(&parser)))))")
        }
        if let failure = collector.failure { throw failure }
        return collector.rows
    }

    /// Accumulates fields and rows from libcsv's callbacks. A class because the C callbacks reach
    /// it through an opaque pointer; it never escapes `rows(in:file:)`.
    private final class Collector {
        let file: String
        var rows: [CSVRow] = []
        var fields: [String] = []
        var newlinesInRow = 0
        var currentLine = 1
        var failure: BenchmarkDataError?

        init(file: String) { self.file = file }

        func addField(_ bytes: UnsafeRawBufferPointer) {
            newlinesInRow += bytes.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
            if let text = String(validating: bytes, as: UTF8.self) {
                fields.append(text)
            } else {
                if failure == nil {
                    failure = .malformedCSV(file: file, line: currentLine, reason: "field \(fields.count + 1) is not valid UTF-8")
                }
                fields.append("")
            }
        }

        func endRow() {
            // The row ends on the current line; its quoted fields may have spanned earlier lines.
            rows.append(CSVRow(fields: fields, line: currentLine - newlinesInRow))
            fields = []
            newlinesInRow = 0
        }
    }
}
