import Engine
import Foundation
import FuzzSupport
import XCTest

/// A bounded fuzz of the GGUF reader (and of the tokenizer and configuration read from its
/// metadata): the real model's header and tensor table, mutated with a fixed seed, are refused
/// with a `GGUFError` (or read) and never crash the process.
final class GGUFFuzzTests: XCTestCase {
    func testMutatedHeadersAndTensorTablesOfTheRealModelAreRefusedCleanly() throws {
        let path = TestPaths.modelPath
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("model not installed: run scripts/setup.sh") }
        let original = try GGUFFile(path: path)
        let headerBytes = original.dataOffset
        let fileSize = original.fileSize
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        let header = [UInt8](try handle.read(upToCount: headerBytes) ?? Data())
        try handle.close()
        // Where the tensor table starts: after the last metadata value (found by parsing the
        // header alone would need the reader's internals; the table is the header's tail).
        let tableStart = max(0, headerBytes - original.tensors.count * 48 - 64)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-fuzz-\(getpid()).gguf")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var mutator = ByteMutator(seed: 0x6767_7566)
        var outcomes: [String: Int] = [:]
        let iterations = 1000
        let start = Date()
        for i in 0..<iterations {
            // Half the edits in the first 4 KiB (magic, version, counts, the first keys and their
            // lengths and types), a quarter in the tensor table, a quarter anywhere in the header.
            let region: Range<Int> = i % 4 < 2 ? 0..<4096 : (i % 4 == 2 ? tableStart..<headerBytes : 0..<headerBytes)
            let mutated = mutator.mutate(header, region: region)
            // The header as mutated, then the rest of the file as a hole (zeros, not written).
            FileManager.default.createFile(atPath: scratch.path, contents: Data(mutated))
            let out = try FileHandle(forWritingTo: scratch)
            try out.truncate(atOffset: UInt64(max(mutated.count, fileSize - headerBytes + mutated.count)))
            try out.close()
            do {
                let file = try GGUFFile(path: scratch.path)
                _ = try? ModelConfiguration(gguf: file)
                _ = try? BPETokenizer(gguf: file)
                outcomes["read", default: 0] += 1
            } catch {
                XCTAssertTrue(error.localizedDescription.contains(scratch.path), "errors name the file: \(error.localizedDescription)")
                let kind = "\(error)".split(separator: "(").first.map(String.init) ?? "\(error)"
                outcomes[kind, default: 0] += 1
            }
        }
        XCTAssertGreaterThan(outcomes.filter { $0.key != "read" }.values.reduce(0, +), iterations / 4, "\(outcomes)")
        print("GGUF fuzz: \(iterations) mutated headers in \(String(format: "%.1f", Date().timeIntervalSince(start))) s: \(outcomes.sorted { $0.key < $1.key })")
    }
}
