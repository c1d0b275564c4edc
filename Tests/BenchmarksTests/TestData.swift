import Benchmarks
import Foundation
import XCTest

/// Access to the repository's `tasks/` directory from tests.
enum TestData {
    /// `<repo>/tasks`, found by walking up from this source file.
    static func tasksDirectory() throws -> URL {
        try TasksDirectory.locate(environment: [:], currentDirectory: URL(fileURLWithPath: #filePath).deletingLastPathComponent(),
                                  executable: nil)
    }

    /// Whether GPQA has been decrypted (scripts/decrypt_gpqa.sh); GPQA tests skip otherwise.
    static func gpqaIsDecrypted() throws -> Bool {
        FileManager.default.fileExists(atPath: try tasksDirectory().appendingPathComponent("gpqa/decrypted/dataset/gpqa_diamond.csv").path)
    }

    /// Reads a JSON Lines file with Foundation (independently of the json-c reader under test).
    static func foundationJSONLines(_ relativePath: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: try tasksDirectory().appendingPathComponent(relativePath), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        }
    }
}
