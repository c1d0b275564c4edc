import Foundation
import Support

/// Everything that can go wrong while loading, rendering or scoring a benchmark.
///
/// Each case names the file (relative to the `tasks/` directory where possible), the line or item,
/// and what was expected, so that a user can open the file and fix it. No case ever carries
/// GPQA question text: GPQA rows are identified by their line number only.
public enum BenchmarkDataError: LocalizedError, Equatable, Sendable {
    /// No `tasks/` directory was found; `searched` lists the places that were tried.
    case tasksDirectoryNotFound(searched: [String])
    /// A data file the benchmark needs does not exist.
    case fileMissing(file: String)
    /// A data file exists but could not be read.
    case unreadable(file: String, reason: String)
    /// The folder has no `SHA256SUMS` file, so its data cannot be verified.
    case checksumListMissing(folder: String)
    /// A line of a `SHA256SUMS` file is not `<64 hex digits>  <path>`.
    case malformedChecksumList(file: String, line: Int)
    /// A data file is not listed in its folder's `SHA256SUMS`.
    case fileNotInChecksumList(file: String)
    /// A data file's SHA-256 differs from the one its folder's `SHA256SUMS` lists.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A JSON or JSONL document could not be parsed (json-c's message in `reason`).
    case malformedJSON(file: String, line: Int, reason: String)
    /// A CSV file could not be parsed (libcsv's message in `reason`).
    case malformedCSV(file: String, line: Int, reason: String)
    /// A row parsed, but a field is missing or has the wrong shape.
    case malformedRow(file: String, line: Int, reason: String)
    /// A file holds a different number of rows than the benchmark expects.
    case unexpectedRowCount(file: String, expected: Int, actual: Int)
    /// GPQA's encrypted archive has not been decrypted yet.
    case notDecrypted(file: String, hint: String)
    /// No benchmark, subtask or suite has this name.
    case unknownBenchmark(name: String, known: [String])
    /// The benchmark has no data for the requested split (e.g. a training split for MMLU).
    case splitUnavailable(benchmark: String, split: String)
    /// Few-shot examples were requested but the benchmark has no pool to draw them from.
    case fewshotUnavailable(benchmark: String, reason: String)
    /// More few-shot examples were requested than the pool holds.
    case fewshotPoolTooSmall(benchmark: String, requested: Int, available: Int)
    /// A document index outside `0..<count`.
    case documentIndexOutOfRange(benchmark: String, index: Int, count: Int)
    /// The benchmark's prompts must not be shown (GPQA: its authors ask that questions never appear in plain text).
    case protectedContent(benchmark: String)

    public var errorDescription: String? {
        switch self {
        case .tasksDirectoryNotFound(let searched):
            return "No tasks/ directory found (set DRLLM_TASKS_DIR); searched: \(searched.joined(separator: ", "))"
        case .fileMissing(let file):
            return "\(file): missing benchmark data file"
        case .unreadable(let file, let reason):
            return "\(file): cannot read (\(reason))"
        case .checksumListMissing(let folder):
            return "\(folder): no SHA256SUMS file, so the data cannot be verified"
        case .malformedChecksumList(let file, let line):
            return "\(file):\(line): expected '<64 hex digits>  <path>'"
        case .fileNotInChecksumList(let file):
            return "\(file): not listed in its folder's SHA256SUMS"
        case .checksumMismatch(let file, let expected, let actual):
            return "\(file): SHA-256 is \(actual), SHA256SUMS expects \(expected)"
        case .malformedJSON(let file, let line, let reason):
            return "\(file):\(line): malformed JSON (\(reason))"
        case .malformedCSV(let file, let line, let reason):
            return "\(file):\(line): malformed CSV (\(reason))"
        case .malformedRow(let file, let line, let reason):
            return "\(file):\(line): \(reason)"
        case .unexpectedRowCount(let file, let expected, let actual):
            return "\(file): expected \(expected) rows, found \(actual)"
        case .notDecrypted(let file, let hint):
            return "\(file): not decrypted yet; \(hint)"
        case .unknownBenchmark(let name, let known):
            return "unknown benchmark '\(name)'; known: \(known.joined(separator: ", "))"
        case .splitUnavailable(let benchmark, let split):
            return "\(benchmark): no \(split) split in tasks/"
        case .fewshotUnavailable(let benchmark, let reason):
            return "\(benchmark): few-shot examples unavailable (\(reason))"
        case .fewshotPoolTooSmall(let benchmark, let requested, let available):
            return "\(benchmark): \(requested) few-shot examples requested, the pool holds \(available)"
        case .documentIndexOutOfRange(let benchmark, let index, let count):
            return "\(benchmark): document index \(index) is outside 0..<\(count)"
        case .protectedContent(let benchmark):
            return "\(benchmark): prompts are not shown; GPQA's authors ask that its questions never appear in plain text"
        }
    }
}
