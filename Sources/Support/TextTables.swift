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

/// Number formatting for tables: fixed decimals, no "-0.0", an explicit sign where asked.
public enum NumberText {
    public static func fixed(_ x: Double?, _ decimals: Int, signed: Bool = false) -> String {
        guard let x, x.isFinite else { return "—" }
        var text = String(format: "%.\(decimals)f", x)
        // A tiny negative number rounds to "-0.0", which reads like a real decrease.
        if text.hasPrefix("-"), Double(text) == 0 { text.removeFirst() }
        if signed && !text.hasPrefix("-") { text = "+" + text }
        return text
    }

    /// A duration for reading, not for arithmetic: "45 s", "12 min", "2 h 05 min".
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "—" }
        if seconds < 59.5 { return "\(Int(seconds.rounded())) s" }
        let minutes = Int((seconds / 60).rounded())
        if minutes < 60 { return "\(minutes) min" }
        return "\(minutes / 60) h " + (minutes % 60 < 10 ? "0" : "") + "\(minutes % 60) min"
    }

    /// Full precision for CSV; empty for a missing or non-finite value.
    public static func exact(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "" }
        return String(describing: x)
    }
}
