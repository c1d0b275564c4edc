import CCSV
import Foundation

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

