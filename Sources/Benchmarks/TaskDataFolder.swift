import Foundation
import Support

/// The repository's `tasks/` directory: where benchmark data lives.
public enum TasksDirectory {
    /// The environment variable that names the `tasks/` directory explicitly.
    public static let environmentVariable = "DRLLM_TASKS_DIR"

    /// Finds the `tasks/` directory: `$DRLLM_TASKS_DIR` if set, else the first `tasks/` folder that
    /// holds benchmark data found by walking up from the current directory, then from the executable.
    public static func locate() throws -> URL {
        let executable = CommandLine.arguments.first.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath() }
        return try locate(
            environment: ProcessInfo.processInfo.environment,
            currentDirectory: URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
            executable: executable
        )
    }

    /// `locate()` with its inputs made explicit, for tests.
    public static func locate(environment: [String: String], currentDirectory: URL, executable: URL?) throws -> URL {
        var searched: [String] = []
        if let explicit = environment[environmentVariable], !explicit.isEmpty {
            let url = URL(fileURLWithPath: explicit, relativeTo: currentDirectory).standardizedFileURL
            if isTasksDirectory(url) { return url }
            searched.append("$\(environmentVariable)=\(explicit)")
        }
        var starts = [currentDirectory.standardizedFileURL]
        if let executable { starts.append(executable.deletingLastPathComponent().standardizedFileURL) }
        for start in starts {
            var directory = start
            while true {
                let candidate = directory.appendingPathComponent("tasks", isDirectory: true)
                searched.append(candidate.path)
                if isTasksDirectory(candidate) { return candidate }
                let parent = directory.deletingLastPathComponent().standardizedFileURL
                if parent.path == directory.path { break }
                directory = parent
            }
        }
        throw BenchmarkDataError.tasksDirectoryNotFound(searched: searched)
    }

    /// A `tasks/` directory is recognised by a benchmark folder with a checksum list, so that an
    /// unrelated folder called `tasks` higher up the tree is not picked by accident.
    private static func isTasksDirectory(_ url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.appendingPathComponent("arc/SHA256SUMS").path)
    }
}

/// One benchmark folder under `tasks/` (e.g. `tasks/arc`) whose files are verified against the
/// folder's `SHA256SUMS` as they are read.
struct TaskDataFolder: Sendable {
    /// The folder, e.g. `<repo>/tasks/arc`.
    let url: URL
    /// The folder's name relative to `tasks/`, used in error messages (e.g. `arc`).
    let name: String
    /// Expected digests by path relative to the folder.
    let expectedDigests: [String: String]

    /// Opens `tasks/<name>` and reads its checksum list from `checksumFile` (default `SHA256SUMS`).
    init(tasksDirectory: URL, name: String, checksumFile: String = "SHA256SUMS") throws {
        self.url = tasksDirectory.appendingPathComponent(name, isDirectory: true)
        self.name = name
        let listURL = url.appendingPathComponent(checksumFile)
        guard let listData = FileManager.default.contents(atPath: listURL.path) else {
            throw BenchmarkDataError.checksumListMissing(folder: "tasks/\(name)")
        }
        self.expectedDigests = try Self.parseChecksumList(listData, file: "tasks/\(name)/\(checksumFile)")
    }

    /// Parses `sha256sum` output: `<hex>  <path>` or `<hex> *<path>` per line; blank lines are skipped.
    static func parseChecksumList(_ data: Data, file: String) throws -> [String: String] {
        var digests: [String: String] = [:]
        let text = String(decoding: data, as: UTF8.self)
        for (offset, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let hex = line.prefix(64)
            let rest = line.dropFirst(64)
            guard hex.count == 64, hex.allSatisfy({ $0.isHexDigit }),
                  rest.hasPrefix("  ") || rest.hasPrefix(" *") else {
                throw BenchmarkDataError.malformedChecksumList(file: file, line: offset + 1)
            }
            var path = String(rest.dropFirst(2))
            if path.hasPrefix("./") { path.removeFirst(2) }
            digests[path] = hex.lowercased()
        }
        return digests
    }

    /// The record of a verified file: its path relative to `tasks/` and its expected digest.
    func digest(of relativePath: String) -> DataFileDigest {
        DataFileDigest(path: "\(name)/\(relativePath)", sha256: expectedDigests[relativePath] ?? "")
    }

    /// The path used in messages: `tasks/<folder>/<relative path>`.
    func displayPath(_ relativePath: String) -> String { "tasks/\(name)/\(relativePath)" }

    /// Reads `relativePath` and checks its SHA-256 against the list before returning the bytes.
    func verifiedContents(of relativePath: String) throws -> Data {
        let display = displayPath(relativePath)
        guard let expected = expectedDigests[relativePath] else {
            throw BenchmarkDataError.fileNotInChecksumList(file: display)
        }
        let fileURL = url.appendingPathComponent(relativePath)
        guard FileManager.default.fileExists(atPath: fileURL.path) else {
            throw BenchmarkDataError.fileMissing(file: display)
        }
        let data: Data
        do {
            data = try Data(contentsOf: fileURL)
        } catch {
            throw BenchmarkDataError.unreadable(file: display, reason: error.localizedDescription)
        }
        let actual = SHA256.hexDigest(of: data)
        guard actual == expected else {
            throw BenchmarkDataError.checksumMismatch(file: display, expected: expected, actual: actual)
        }
        return data
    }
}

/// A data file a loaded benchmark read, with the digest it was verified against; the harness
/// records these so that a result names exactly the data it came from.
public struct DataFileDigest: Sendable, Hashable, Codable {
    /// Path relative to the `tasks/` directory, e.g. `arc/ARC-Easy-Test.jsonl`.
    public var path: String
    /// SHA-256 as 64 lower-case hex digits.
    public var sha256: String
    public init(path: String, sha256: String) {
        self.path = path
        self.sha256 = sha256
    }
}
