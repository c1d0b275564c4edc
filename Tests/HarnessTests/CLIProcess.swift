import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the real `bench` executable for the end-to-end tests (`CLIEndToEndTests`).
///
/// The executable is found next to the test bundle (SwiftPM puts every product of a build in the
/// same `<scratch>/<triple>/<config>` folder, whatever `--scratch-path` is), or at
/// `$DRLLM_BENCH_EXECUTABLE`. Children run in a temporary working directory with
/// `DRLLM_MODELS_DIR` and `DRLLM_TASKS_DIR` pointing into the repository, so that a forgotten
/// `--results`/`--reports`/`--readme-file` can never touch the repository's own files.
enum CLIBench {
    /// The package root (the folder holding Package.swift).
    static let repoRoot: URL = {
        var u = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) {
            let parent = u.deletingLastPathComponent()
            if parent.path == u.path { break }
            u = parent
        }
        return u
    }()

    /// The default model's folder name under `results/`.
    static let modelName = "smollm2-135m-instruct"

    /// The default model file.
    static var modelFile: URL { repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf") }

    /// Folders that may hold the `bench` executable, best first.
    static func candidateFolders() -> [URL] {
        var out: [URL] = []
        // Linux: the test runner is the `.xctest` executable itself, in the products folder.
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            out.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let exe = Bundle.main.executableURL { out.append(exe.deletingLastPathComponent()) }
        // macOS: the `.xctest` bundle sits in the products folder.
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            out.append(bundle.bundleURL.deletingLastPathComponent())
        }
        // Last resort: the default scratch path.
        out.append(repoRoot.appendingPathComponent(".build/debug"))
        out.append(repoRoot.appendingPathComponent(".build/release"))
        return out
    }

    /// The `bench` executable, or nil.
    static func locateExecutable() -> URL? {
        if let explicit = ProcessInfo.processInfo.environment["DRLLM_BENCH_EXECUTABLE"], !explicit.isEmpty {
            return URL(fileURLWithPath: explicit)
        }
        for folder in candidateFolders() {
            let file = folder.appendingPathComponent("bench")
            if FileManager.default.isExecutableFile(atPath: file.path) { return file }
        }
        return nil
    }

    /// The `bench` executable; fails the test with a message saying where it looked.
    static func executable(file: StaticString = #filePath, line: UInt = #line) throws -> URL {
        if let url = locateExecutable() { return url }
        let looked = candidateFolders().map(\.path).joined(separator: ", ")
        XCTFail("the bench executable was not found (looked in \(looked)); build it with `swift build --build-tests` "
                + "or set DRLLM_BENCH_EXECUTABLE", file: file, line: line)
        throw CLIError.notFound
    }

    /// Fails the test (not a skip) when the default model is not installed.
    static func requireModel(file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.fileExists(atPath: modelFile.path) else {
            XCTFail("default model missing at \(modelFile.path): run scripts/setup.sh", file: file, line: line)
            throw CLIError.notFound
        }
    }

    /// The environment children run with.
    static var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["DRLLM_MODELS_DIR"] = repoRoot.appendingPathComponent("models").path
        env["DRLLM_TASKS_DIR"] = repoRoot.appendingPathComponent("tasks").path
        env.removeValue(forKey: "NO_COLOR")
        return env
    }

    enum CLIError: Error { case notFound, timedOut(String) }
}

/// What a finished `bench` process left.
struct CLIResult {
    var arguments: [String]
    /// Exit status, or the signal number when `signalled`.
    var status: Int32
    var signalled: Bool
    var stdout: String
    var stderr: String

    /// The command and its output, for failure messages.
    var transcript: String {
        "bench \(arguments.joined(separator: " ")) → \(signalled ? "signal" : "exit") \(status)\n"
            + "--- stdout ---\n\(stdout.suffix(3000))\n--- stderr ---\n\(stderr.suffix(3000))"
    }
}

/// A running `bench` process whose output goes to files (no pipe can fill up and block it).
final class CLIProcess {
    let arguments: [String]
    let process = Process()
    private let stdoutURL: URL
    private let stderrURL: URL

    /// Starts `bench arguments` in `workingDirectory`.
    init(_ arguments: [String], workingDirectory: URL, file: StaticString = #filePath, line: UInt = #line) throws {
        self.arguments = arguments
        let id = UUID().uuidString
        stdoutURL = workingDirectory.appendingPathComponent(".cli-\(id).stdout")
        stderrURL = workingDirectory.appendingPathComponent(".cli-\(id).stderr")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = try CLIBench.executable(file: file, line: line)
        process.arguments = arguments
        process.currentDirectoryURL = workingDirectory
        process.environment = CLIBench.environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
    }

    var pid: pid_t { process.processIdentifier }

    /// Sends `signal` to the process.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end; kills it (and throws) after `timeout` seconds.
    func wait(timeout: TimeInterval, file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            send(SIGKILL)
            process.waitUntilExit()
            let result = collect()
            XCTFail("timed out after \(Int(timeout)) s: \(result.transcript)", file: file, line: line)
            throw CLIBench.CLIError.timedOut(arguments.joined(separator: " "))
        }
        process.waitUntilExit()
        return collect()
    }

    private func collect() -> CLIResult {
        let out = (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
        return CLIResult(arguments: arguments, status: process.terminationStatus,
                         signalled: process.terminationReason == .uncaughtSignal, stdout: out, stderr: err)
    }

    /// Runs `bench arguments` to the end.
    static func run(_ arguments: [String], in workingDirectory: URL, timeout: TimeInterval = 300,
                    file: StaticString = #filePath, line: UInt = #line) throws -> CLIResult {
        try CLIProcess(arguments, workingDirectory: workingDirectory, file: file, line: line)
            .wait(timeout: timeout, file: file, line: line)
    }
}

/// Reading results folders in the end-to-end tests.
enum CLIFiles {
    /// Every regular file under `folder` (hidden ones included), relative paths, sorted; empty
    /// when the folder does not exist.
    static func files(under folder: URL) -> [String] {
        guard let e = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey]) else {
            return []
        }
        var out: [String] = []
        let base = folder.standardizedFileURL.resolvingSymlinksInPath().path
        for case let url as URL in e {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else { continue }
            var path = url.standardizedFileURL.resolvingSymlinksInPath().path
            if path.hasPrefix(base + "/") { path.removeFirst(base.count + 1) }
            out.append(path)
        }
        return out.sorted()
    }

    /// Complete lines of a records file (0 when absent).
    static func lineCount(_ url: URL) -> Int {
        guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
        return data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
    }

    /// A records file with every `"seconds":<number>` set to 0: the part that must be identical
    /// between an interrupted-and-resumed run and an uninterrupted one.
    static func recordsWithoutTiming(_ url: URL) throws -> String {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.replacingOccurrences(of: #""seconds":-?[0-9.eE+-]+"#, with: #""seconds":0"#, options: .regularExpression)
    }

    /// A summary file with its `timing` object emptied.
    static func summaryWithoutTiming(_ url: URL) throws -> String {
        let text = try String(contentsOf: url, encoding: .utf8)
        return text.replacingOccurrences(of: #""timing" : \{[^}]*\}"#, with: #""timing" : {}"#, options: .regularExpression)
    }

    /// Parses a JSON object file.
    static func jsonObject(_ url: URL) throws -> [String: Any] {
        let data = try Data(contentsOf: url)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return object
    }

    /// Parses the records of a `.jsonl` file.
    static func records(_ url: URL) throws -> [[String: Any]] {
        let text = try String(contentsOf: url, encoding: .utf8)
        return try text.split(separator: "\n").map {
            guard let o = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw CocoaError(.fileReadCorruptFile)
            }
            return o
        }
    }
}
