import Foundation
import Support

/// One configuration key whose value differs between the stored run and the requested one.
public struct ConfigurationChange: Equatable, Sendable, CustomStringConvertible {
    /// The key as it appears in the JSON files (`model_sha256`, `fewshot`, …).
    public var key: String
    /// The value recorded when the results were started.
    public var old: String
    /// The value the new command asks for.
    public var new: String

    public init(key: String, old: String, new: String) {
        self.key = key
        self.old = old
        self.new = new
    }

    public var description: String { "\(key) was \(old) and is now \(new)" }
}

/// Everything that can go wrong while running, storing, comparing and reporting results.
///
/// Every message names the file or folder involved, the item, and what was expected, so that a
/// user can act on it without reading code. `Equatable` so tests can compare errors directly.
public enum RunError: LocalizedError, Equatable, Sendable {
    /// A folder could not be created or written to (checked before any work starts).
    case unwritableFolder(path: String, reason: String)
    /// A file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A file could not be written.
    case unwritableFile(path: String, reason: String)
    /// Stored results were produced by a different configuration than the one requested.
    case configurationChanged(file: String, changes: [ConfigurationChange])
    /// A records file exists without the configuration sidecar that must precede it.
    case missingConfiguration(recordsFile: String, expected: String)
    /// A complete (newline-terminated) line of a records file is not a valid record.
    case corruptRecord(file: String, line: Int, reason: String)
    /// The same document id appears twice in a records file.
    case duplicateRecord(file: String, id: String)
    /// A JSON file was written by a newer version of the bench than this one understands.
    case newerFormat(file: String, found: Int, supported: Int)
    /// A JSON file is not what it should be.
    case malformedFile(path: String, reason: String)
    /// Another process holds the lock on a task's records.
    case runInProgress(file: String)
    /// A model, run or task name cannot be used as a folder or file name.
    case invalidName(kind: String, name: String)
    /// A run folder that a comparison or report needs does not exist or holds no results.
    case missingRun(folder: String)
    /// Two runs share no task, so there is nothing to compare.
    case noCommonTasks(folderA: String, folderB: String)
    /// Results of two runs of the same task use different primary metrics.
    case metricMismatch(task: String, metricA: String, metricB: String)
    /// A README lacks a results marker.
    case readmeMarkerMissing(file: String, marker: String)
    /// A README's markers are duplicated or in the wrong order.
    case readmeMarkersOutOfOrder(file: String, begin: String, end: String)
    /// A benchmark returned something the runner cannot turn into a record.
    case invalidBenchmarkOutput(task: String, document: String, reason: String)
    /// The run was interrupted (SIGINT); finished records are kept and a rerun resumes.
    case interrupted(task: String, done: Int, total: Int)
    /// A model given by path has no registry entry, so no default file for `option`.
    case noDefaultFile(model: String, option: String)
    /// The router file does not exist; `hint` says how to get one.
    case missingRouterFile(path: String, hint: String)
    /// A layer policy other than "every block" asked of a backend that does not run blocks here.
    case notRoutable(model: String, run: String)

    public var errorDescription: String? {
        switch self {
        case let .noDefaultFile(model, option):
            return "\(option): model '\(model)' is given by path, so it has no default file: name one with \(option)"
        case let .missingRouterFile(path, hint):
            return "--router: \(path) does not exist (\(hint))"
        case let .notRoutable(model, run):
            return "run '\(run)' needs a routable model (skipped or repeated blocks), but '\(model)' is served by a backend that "
                + "only runs the whole model: run --config baseline on it, or use the native engine"
        case let .unwritableFolder(path, reason):
            return "cannot write to the folder '\(path)': \(reason). Choose a writable folder (e.g. --results DIR)."
        case let .unreadableFile(path, reason):
            return "cannot read '\(path)': \(reason)"
        case let .unwritableFile(path, reason):
            return "cannot write '\(path)': \(reason)"
        case let .configurationChanged(file, changes):
            let list = changes.map(\.description).joined(separator: "; ")
            return "the results next to '\(file)' were produced by a different configuration: \(list). "
                + "Refusing to mix them. Use --force to start this task over (its records are deleted), "
                + "or --results DIR to write elsewhere."
        case let .missingConfiguration(recordsFile, expected):
            return "'\(recordsFile)' holds records but its configuration file '\(expected)' is missing, "
                + "so it cannot be checked. Use --force to start this task over."
        case let .corruptRecord(file, line, reason):
            return "'\(file)' line \(line) is not a valid record: \(reason). "
                + "Only a torn last line (no newline) is repaired automatically; use --force to start over."
        case let .duplicateRecord(file, id):
            return "'\(file)' holds document id '\(id)' more than once; expected each document once. "
                + "Use --force to start this task over."
        case let .newerFormat(file, found, supported):
            return "'\(file)' has format version \(found), but this bench reads versions up to \(supported). Update the bench."
        case let .malformedFile(path, reason):
            return "'\(path)' is malformed: \(reason)"
        case let .runInProgress(file):
            return "another bench process is writing '\(file)'; wait for it to finish or stop it first."
        case let .invalidName(kind, name):
            return "the \(kind) name '\(name)' cannot be used as a folder or file name: "
                + "expected a non-empty name without '/', NUL or a leading '.'."
        case let .missingRun(folder):
            return "no results in '\(folder)': expected <task>.json summaries there. Run `bench run` first."
        case let .noCommonTasks(folderA, folderB):
            return "'\(folderA)' and '\(folderB)' share no task with results, so there is nothing to compare."
        case let .metricMismatch(task, metricA, metricB):
            return "task '\(task)' reports '\(metricA)' in one run and '\(metricB)' in the other; expected the same primary metric."
        case let .readmeMarkerMissing(file, marker):
            return "'\(file)' has no line '\(marker)'; expected the results block between "
                + "\(ReadmeMarkers.begin) and \(ReadmeMarkers.end). The file was not changed."
        case let .readmeMarkersOutOfOrder(file, begin, end):
            return "'\(file)' must hold '\(begin)' exactly once, followed later by '\(end)' exactly once. The file was not changed."
        case let .invalidBenchmarkOutput(task, document, reason):
            return "task '\(task)', document '\(document)': \(reason)"
        case let .interrupted(task, done, total):
            return "interrupted during '\(task)' after \(done) of \(total) documents; finished records are saved, rerun the same command to resume."
        }
    }
}

extension RunError {
    /// The run-level error for a records-log failure (same file, line and id).
    public init(_ error: JSONLinesError) {
        switch error {
        case let .locked(file): self = .runInProgress(file: file)
        case let .unwritable(file, reason): self = .unwritableFile(path: file, reason: reason)
        case let .unreadable(file, reason): self = .unreadableFile(path: file, reason: reason)
        case let .corruptLine(file, line, reason): self = .corruptRecord(file: file, line: line, reason: reason)
        case let .duplicate(file, id): self = .duplicateRecord(file: file, id: id)
        }
    }
}

/// The lines between which `bench report --readme` writes README's results block.
public enum ReadmeMarkers {
    public static let begin = "<!-- bench:results:begin -->"
    public static let end = "<!-- bench:results:end -->"
}
