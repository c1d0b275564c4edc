import Foundation

/// The version of the code a run uses: the repository's `git` commit, recorded in each run's
/// configuration (`code_versions`) so a reader can tell which code wrote a set of records.
public enum CodeVersion {
    /// `git rev-parse HEAD` of the repository holding `directory` (12 hex digits), with `-dirty`
    /// when tracked files differ from that commit; nil when there is no git or no checkout (e.g. a
    /// container with only the binary).
    ///
    /// Changes under `outputFolders` do not count: resuming a committed run changes its records,
    /// not the code that writes them.
    public static func current(repositoryDirectory directory: URL, outputFolders: [String] = ["results", "reports"]) -> String? {
        guard let head = git(["rev-parse", "--short=12", "HEAD"], in: directory), !head.isEmpty else { return nil }
        let status = git(["status", "--porcelain", "--untracked-files=no", "--", "."] + outputFolders.map { ":(exclude)\($0)" },
                         in: directory) ?? ""
        return status.isEmpty ? head : head + "-dirty"
    }

    private static func git(_ arguments: [String], in directory: URL) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", directory.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
