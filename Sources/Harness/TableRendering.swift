import CCSV
import Foundation

/// A GitHub-flavoured Markdown table.
public struct MarkdownTable: Hashable, Sendable {
    /// Column alignment.
    public enum Alignment: Hashable, Sendable { case left, right }

    public var header: [String]
    public var alignments: [Alignment]
    public var rows: [[String]]

    public init(header: [String], alignments: [Alignment]? = nil, rows: [[String]] = []) {
        self.header = header
        self.alignments = alignments ?? header.map { _ in .left }
        self.rows = rows
    }

    /// The table as Markdown lines ending in a newline. Pipes and newlines inside cells are
    /// escaped so a cell can never break the table.
    public func render() -> String {
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
        }
        func line(_ cells: [String]) -> String { "| " + cells.map(cell).joined(separator: " | ") + " |\n" }
        var out = line(header)
        out += "|" + alignments.map { $0 == .right ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for row in rows { out += line(row) }
        return out
    }
}

/// CSV text (RFC 4180): fields that need it are quoted by libcsv's `csv_write`, which wraps the
/// field in double quotes and doubles any quote inside; others are written bare.
public enum CSVText {
    /// One field, quoted when it holds a comma, a quote, CR, LF, or leading/trailing spaces.
    public static func field(_ text: String) -> String {
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        let source = Array(text.utf8)
        return source.withUnsafeBytes { src -> String in
            let size = csv_write(nil, 0, src.baseAddress, src.count)
            var destination = [UInt8](repeating: 0, count: size)
            let written = destination.withUnsafeMutableBytes { dst in
                csv_write(dst.baseAddress, dst.count, src.baseAddress, src.count)
            }
            return String(decoding: destination.prefix(written), as: UTF8.self)
        }
    }

    /// One line (with its `\n`).
    public static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\n"
    }

    /// A whole table: header then rows.
    public static func table(header: [String], rows: [[String]]) -> String {
        line(header) + rows.map(line).joined()
    }
}

/// Number formatting for tables: fixed decimals, no "-0.0", an explicit sign where asked.
enum NumberText {
    static func fixed(_ x: Double?, _ decimals: Int, signed: Bool = false) -> String {
        guard let x, x.isFinite else { return "—" }
        var text = String(format: "%.\(decimals)f", x)
        // A tiny negative number rounds to "-0.0", which reads like a real decrease.
        if text.hasPrefix("-"), Double(text) == 0 { text.removeFirst() }
        if signed && !text.hasPrefix("-") { text = "+" + text }
        return text
    }

    /// A duration for reading, not for arithmetic: "45 s", "12 min", "2 h 05 min".
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "—" }
        if seconds < 59.5 { return "\(Int(seconds.rounded())) s" }
        let minutes = Int((seconds / 60).rounded())
        if minutes < 60 { return "\(minutes) min" }
        return "\(minutes / 60) h " + (minutes % 60 < 10 ? "0" : "") + "\(minutes % 60) min"
    }

    /// Full precision for CSV; empty for a missing or non-finite value.
    static func exact(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "" }
        return String(describing: x)
    }
}
