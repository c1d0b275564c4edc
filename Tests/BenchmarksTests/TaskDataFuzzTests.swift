import Benchmarks
import Foundation
import FuzzSupport
import Support
import XCTest

/// A bounded fuzz of the task-data readers: rows of the real data files, mutated with a fixed
/// seed (and given a matching checksum, so they reach the parsers), are either read or refused
/// with a `BenchmarkDataError` naming the file; the process never crashes.
final class TaskDataFuzzTests: XCTestCase {
    struct Target {
        let benchmark: String
        let folder: String
        /// The files the benchmark reads (whole: readers check row counts).
        let files: [String]
    }

    static let targets = [
        Target(benchmark: "arc_easy", folder: "arc", files: ["ARC-Easy-Test.jsonl", "ARC-Easy-Train.jsonl"]),
        Target(benchmark: "gsm8k", folder: "gsm8k", files: ["test.jsonl", "train.jsonl"]),
        Target(benchmark: "truthfulqa_mc1", folder: "truthfulqa", files: ["mc_task.json"]),
        Target(benchmark: "mmlu_abstract_algebra", folder: "mmlu", files: ["test/abstract_algebra_test.csv", "dev/abstract_algebra_dev.csv"]),
    ]

    static let dictionary: [[UInt8]] = ["\"", "\\", "\\u0000", "\\ud800", "null", "[]", "{}", ",", ":", "\n", "\r\n", "\"\"", "1e999",
                                        "{\"question\":", "\"answerKey\":", "\"choices\":", "\u{FEFF}", "\u{0}", "\u{FF}"].map { Array($0.utf8) }

    func testMutatedRowsOfTheRealDataAreReadOrRefusedWithTheFileNamed() throws {
        let repoTasks = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("tasks")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("task-fuzz-\(getpid())")
        defer { try? FileManager.default.removeItem(at: root) }
        var mutator = ByteMutator(seed: 0x7461_736b)
        var outcomes: [String: Int] = [:]
        let perTarget = 150
        for target in Self.targets {
            var originals: [(String, [UInt8])] = []
            for file in target.files {
                guard let data = FileManager.default.contents(atPath: repoTasks.appendingPathComponent("\(target.folder)/\(file)").path) else {
                    throw XCTSkip("tasks/\(target.folder)/\(file) is not here")
                }
                originals.append((file, [UInt8](data)))
            }
            for i in 0..<perTarget {
                let folder = root.appendingPathComponent("tasks/\(target.folder)")
                try? FileManager.default.removeItem(at: folder)
                var sums = ""
                for (k, (file, bytes)) in originals.enumerated() {
                    // Edits in the first rows (the first documents, which are also rendered below).
                    let content = k == i % originals.count ? mutator.mutate(bytes, region: 0..<4096, dictionary: Self.dictionary) : bytes
                    let url = folder.appendingPathComponent(file)
                    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                    try Data(content).write(to: url)
                    sums += "\(SHA256.hexDigest(of: Data(content)))  \(file)\n"
                }
                try Data(sums.utf8).write(to: folder.appendingPathComponent("SHA256SUMS"))
                do {
                    let loaded = try BenchmarkRegistry.load(target.benchmark, from: root.appendingPathComponent("tasks"))
                    for d in loaded.indices(limit: 3) { _ = try loaded.request(at: d) }
                    outcomes["\(target.benchmark): read", default: 0] += 1
                } catch let error as BenchmarkDataError {
                    XCTAssertTrue(error.localizedDescription.contains("tasks/\(target.folder)/") || "\(error)".contains(target.benchmark),
                                  "errors name the file: \(error.localizedDescription)")
                    outcomes["\(target.benchmark): refused", default: 0] += 1
                } catch {
                    outcomes["\(target.benchmark): other \(type(of: error))", default: 0] += 1
                }
            }
        }
        let unclear = outcomes.filter { $0.key.contains("other") }
        XCTAssertTrue(unclear.isEmpty, "errors that are not BenchmarkDataError: \(unclear)")
        print("task-data fuzz: \(perTarget) mutated inputs per reader: \(outcomes.sorted { $0.key < $1.key })")
    }
}
