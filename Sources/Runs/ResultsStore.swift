import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

/// A task's stored results: its summary and its records in document order.
public struct TaskResults: Hashable, Sendable {
    public var summary: TaskSummary
    public var records: [ExampleRecord]

    public init(summary: TaskSummary, records: [ExampleRecord]) {
        self.summary = summary
        self.records = records
    }
}

/// The results folder: `<root>/<model>/<run>/<task>.jsonl`, `<task>.json` and `<task>.config.json`.
///
/// - `<task>.jsonl`: one `ExampleRecord` per line (compact JSON, sorted keys), appended and
///   fsynced as each document finishes, in document order.
/// - `<task>.config.json`: the `RunConfiguration`, written before the first record so that a rerun
///   can check it before touching anything.
/// - `<task>.json`: the `TaskSummary` (pretty JSON, sorted keys), replaced atomically.
///
/// Hidden files (leading '.') are temporary files and probes; listings ignore them.
public struct ResultsStore: Sendable {
    /// The results folder (`results/` by default).
    public let root: URL

    public init(root: URL) { self.root = root }

    // MARK: Layout

    /// `<root>/<model>`.
    public func modelFolder(model: String) -> URL { root.appendingPathComponent(model, isDirectory: true) }
    /// `<root>/<model>/<run>`.
    public func runFolder(model: String, run: String) -> URL {
        modelFolder(model: model).appendingPathComponent(run, isDirectory: true)
    }
    /// `<root>/<model>/<run>/<task>.jsonl`.
    public func recordsFile(model: String, run: String, task: String) -> URL {
        runFolder(model: model, run: run).appendingPathComponent("\(task).jsonl")
    }
    /// `<root>/<model>/<run>/<task>.json`.
    public func summaryFile(model: String, run: String, task: String) -> URL {
        runFolder(model: model, run: run).appendingPathComponent("\(task).json")
    }
    /// `<root>/<model>/<run>/<task>.config.json`.
    public func configurationFile(model: String, run: String, task: String) -> URL {
        runFolder(model: model, run: run).appendingPathComponent("\(task).config.json")
    }

    /// `<root>/<model>/<run>/<task>.generating.json`: the tokens of answers still being generated
    /// (`GenerationJournalFile`), so an interrupted run resumes a long answer where it stopped.
    public func generationJournalFile(model: String, run: String, task: String) -> URL {
        runFolder(model: model, run: run).appendingPathComponent("\(task)\(GenerationJournalFile.suffix)")
    }

    // MARK: Writing

    /// Creates the results folder and proves it writable. Call before loading a model, so that an
    /// unwritable `--results` fails before any work.
    public func prepare() throws(RunError) {
        try FileOperations.ensureWritableFolder(root)
    }

    /// Opens a task's records for appending, creating or resuming them.
    ///
    /// Takes an exclusive lock on the records file (a second process on the same task is
    /// refused), checks the stored configuration against `configuration` (a change is refused
    /// with the keys that differ unless `force`), drops a torn last line left by a kill, reads the
    /// finished records and writes the configuration sidecar. With `force` the task's records,
    /// summary and configuration are deleted first. Nothing is written when a check fails.
    public func openTask(configuration: RunConfiguration, force: Bool = false) throws(RunError) -> TaskRecordLog {
        try Self.validate(kind: "model", configuration.model)
        try Self.validate(kind: "run", configuration.run)
        try Self.validate(kind: "task", configuration.task)
        let folder = runFolder(model: configuration.model, run: configuration.run)
        try FileOperations.ensureWritableFolder(folder)
        let recordsURL = recordsFile(model: configuration.model, run: configuration.run, task: configuration.task)
        let configURL = configurationFile(model: configuration.model, run: configuration.run, task: configuration.task)
        let summaryURL = summaryFile(model: configuration.model, run: configuration.run, task: configuration.task)

        let log: JSONLinesLog
        do { log = try JSONLinesLog(file: recordsURL) } catch { throw RunError(error) }
        var handedOver = false
        defer { if !handedOver { log.close() } }

        if force {
            do { try log.truncateAll() } catch { throw RunError(error) }
            try FileOperations.removeIfExists(summaryURL)
            try FileOperations.removeIfExists(configURL)
        }

        let records: [ExampleRecord]
        do { records = try log.read(as: ExampleRecord.self, id: \.id) } catch { throw RunError(error) }
        let stored = try Self.loadConfiguration(configURL)
        if let stored {
            let changes = configuration.changes(from: stored)
            if !changes.isEmpty { throw .configurationChanged(file: configURL.path, changes: changes) }
        } else if !records.isEmpty || log.tornBytes > 0 {
            throw .missingConfiguration(recordsFile: recordsURL.path, expected: configURL.path)
        }

        // Everything checked: from here on we write. A kill mid-write left a line without its
        // newline; it is not a record yet.
        do { try log.dropTornTail() } catch { throw RunError(error) }
        var sidecar = configuration
        sidecar.formatVersion = RunConfiguration.currentFormatVersion
        // The code versions and kernel families that wrote records here: the stored ones, then
        // this run's if they are new.
        sidecar.codeVersions = Self.accumulated(stored?.codeVersions, configuration.codeVersions)
        sidecar.blasCores = Self.accumulated(stored?.blasCores, configuration.blasCores)
        do {
            try FileOperations.writeAtomically(try CanonicalJSON.prettyData(sidecar), to: configURL)
        } catch let error as RunError {
            throw error
        } catch {
            throw .unwritableFile(path: configURL.path, reason: "\(error)")
        }
        handedOver = true
        var recorded = configuration
        recorded.codeVersions = sidecar.codeVersions
        recorded.blasCores = sidecar.blasCores
        return TaskRecordLog(log: log, configuration: recorded, records: records)
    }

    /// `stored` followed by the entries of `new` it lacks; nil when both are empty.
    private static func accumulated(_ stored: [String]?, _ new: [String]?) -> [String]? {
        let all = (stored ?? []) + (new ?? []).filter { !(stored ?? []).contains($0) }
        return all.isEmpty ? nil : all
    }

    /// Writes `<task>.json` atomically.
    public func writeSummary(_ summary: TaskSummary) throws(RunError) {
        let url = summaryFile(model: summary.configuration.model, run: summary.run, task: summary.task)
        let data: Data
        do { data = try CanonicalJSON.prettyData(summary) } catch {
            throw .unwritableFile(path: url.path, reason: "cannot encode the summary: \(error)")
        }
        try FileOperations.writeAtomically(data, to: url)
    }

    // MARK: Reading

    /// Model folders under the root, sorted (empty when the root does not exist).
    public func models() throws(RunError) -> [String] { try Self.subfolders(of: root).filter { $0 != Self.shardsFolder } }

    /// The folder under the results root where shards of a split run keep their own results trees
    /// (`shards/<I>-of-<N>/<model>/<run>/…`); never a model.
    public static let shardsFolder = "shards"

    /// Run folders of a model, sorted.
    public func runs(model: String) throws(RunError) -> [String] { try Self.subfolders(of: modelFolder(model: model)) }

    /// Tasks that have a summary in a run folder, sorted; `missingRun` when there are none.
    public func tasks(model: String, run: String) throws(RunError) -> [String] {
        let folder = runFolder(model: model, run: run)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder.path) } catch {
            throw .missingRun(folder: folder.path)
        }
        let tasks = names.filter {
            $0.hasSuffix(".json") && !$0.hasSuffix(".config.json") && !$0.hasSuffix(GenerationJournalFile.suffix) && !$0.hasPrefix(".")
        }
            .map { String($0.dropLast(".json".count)) }
            .sorted()
        if tasks.isEmpty { throw .missingRun(folder: folder.path) }
        return tasks
    }

    /// Reads `<task>.json`.
    public func loadSummary(model: String, run: String, task: String) throws(RunError) -> TaskSummary {
        let url = summaryFile(model: model, run: run, task: task)
        guard let data = try FileOperations.readIfExists(url) else {
            throw .unreadableFile(path: url.path, reason: "no such file; expected the summary of task '\(task)'")
        }
        try Self.checkVersion(data, file: url.path, supported: TaskSummary.currentFormatVersion)
        do {
            return try CanonicalJSON.decoder().decode(TaskSummary.self, from: data)
        } catch {
            throw .malformedFile(path: url.path, reason: CanonicalJSON.describe(error))
        }
    }

    /// Reads `<task>.jsonl` (without changing it), in document order. A torn last line is ignored.
    public func loadRecords(model: String, run: String, task: String) throws(RunError) -> [ExampleRecord] {
        let url = recordsFile(model: model, run: run, task: task)
        guard let data = try FileOperations.readIfExists(url) else {
            throw .unreadableFile(path: url.path, reason: "no such file; expected the records of task '\(task)'")
        }
        return try Self.parseRecords(data, file: url.path).sorted { $0.index < $1.index }
    }

    /// Summary and records of every task of a run, by task name.
    public func loadRun(model: String, run: String) throws(RunError) -> [String: TaskResults] {
        var out: [String: TaskResults] = [:]
        for task in try tasks(model: model, run: run) {
            out[task] = TaskResults(summary: try loadSummary(model: model, run: run, task: task),
                                    records: try loadRecords(model: model, run: run, task: task))
        }
        return out
    }

    // MARK: Helpers

    public static func validate(kind: String, _ name: String) throws(RunError) {
        if !FileOperations.isSafeComponent(name) { throw .invalidName(kind: kind, name: name) }
    }

    static func subfolders(of url: URL) throws(RunError) -> [String] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw .unreadableFile(path: url.path, reason: FileOperations.describe(error))
        }
        return names.filter { name in
            var isDir: ObjCBool = false
            return !name.hasPrefix(".")
                && FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDir)
                && isDir.boolValue
        }.sorted()
    }

    static func loadConfiguration(_ url: URL) throws(RunError) -> RunConfiguration? {
        guard let data = try FileOperations.readIfExists(url) else { return nil }
        try checkVersion(data, file: url.path, supported: RunConfiguration.currentFormatVersion)
        do {
            return try CanonicalJSON.decoder().decode(RunConfiguration.self, from: data)
        } catch {
            throw .malformedFile(path: url.path, reason: CanonicalJSON.describe(error))
        }
    }

    private struct VersionProbe: Decodable {
        let formatVersion: Int?
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version" }
    }

    static func checkVersion(_ data: Data, file: String, supported: Int) throws(RunError) {
        let probe: VersionProbe
        do { probe = try CanonicalJSON.decoder().decode(VersionProbe.self, from: data) } catch {
            throw .malformedFile(path: file, reason: CanonicalJSON.describe(error))
        }
        if let v = probe.formatVersion, v > supported { throw .newerFormat(file: file, found: v, supported: supported) }
    }

    /// Parses newline-terminated records in file order (see `JSONLinesLog.parse`).
    static func parseRecords(_ data: Data, file: String) throws(RunError) -> [ExampleRecord] {
        do { return try JSONLinesLog.parse(data, file: file, as: ExampleRecord.self, id: \.id).records } catch { throw RunError(error) }
    }
}

/// An open, locked `<task>.jsonl`: the records already there and an `append` that makes each new
/// one durable before returning.
///
/// A reference type because it owns a file descriptor and its lock; closed on `close()` or deinit.
public final class TaskRecordLog {
    /// The records file.
    public var file: URL { log.file }
    /// The configuration the records belong to.
    public let configuration: RunConfiguration
    /// Records in file order (resumed ones first, then appended ones).
    public private(set) var records: [ExampleRecord]
    private var ids: Set<String>
    private let log: JSONLinesLog

    init(log: JSONLinesLog, configuration: RunConfiguration, records: [ExampleRecord]) {
        self.log = log
        self.configuration = configuration
        self.records = records
        self.ids = Set(records.map(\.id))
    }

    /// Ids of the documents that already have a record.
    public var finishedIDs: Set<String> { ids }

    /// Whether the document `id` already has a record.
    public func contains(id: String) -> Bool { ids.contains(id) }

    /// Appends one record as one line and fsyncs it, so it survives any later kill; should a kill
    /// tear the line, the next `openTask` drops it.
    public func append(_ record: ExampleRecord) throws(RunError) {
        if ids.contains(record.id) { throw .duplicateRecord(file: file.path, id: record.id) }
        do { try log.append(record) } catch { throw RunError(error) }
        ids.insert(record.id)
        records.append(record)
    }

    /// Releases the lock and closes the file. Safe to call twice.
    public func close() { log.close() }
}
