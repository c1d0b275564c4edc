import Engine
import Foundation
import XCTest

/// Where the tests find the repo, the default model and the shared reference outputs.
enum TestPaths {
    /// The package root (the folder holding Package.swift).
    static let repoRoot: URL = {
        var u = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: u.appendingPathComponent("Package.swift").path) {
            u = u.deletingLastPathComponent()
        }
        return u
    }()

    /// The reference outputs kept in the repository (`Fixtures/reference`, copied from the
    /// project's shared inputs), or `$DRLLM_REFERENCE_DIR`.
    static var referenceDir: URL {
        if let d = ProcessInfo.processInfo.environment["DRLLM_REFERENCE_DIR"] { return URL(fileURLWithPath: d) }
        return repoRoot.appendingPathComponent("Tests/EngineTests/Fixtures/reference")
    }

    static var modelPath: String { repoRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path }

    /// Loads a reference JSON file, failing the test with a clear message when it is absent.
    static func reference(_ name: String) throws -> [String: Any] {
        let url = referenceDir.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("reference file \(url.path) is missing (expected Tests/EngineTests/Fixtures/reference, or set DRLLM_REFERENCE_DIR)")
            throw CocoaError(.fileNoSuchFile)
        }
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }
}

/// The default model, loaded once for all tests of this target (loading dequantises ~135M weights).
enum SharedModel {
    nonisolated(unsafe) private static var cached: TransformerModel?
    private static let lock = NSLock()

    static func get() throws -> TransformerModel {
        lock.lock()
        defer { lock.unlock() }
        if let m = cached { return m }
        guard FileManager.default.fileExists(atPath: TestPaths.modelPath) else {
            XCTFail("default model missing at \(TestPaths.modelPath): run scripts/setup.sh")
            throw CocoaError(.fileNoSuchFile)
        }
        let m = try TransformerModel(path: TestPaths.modelPath, name: "smollm2-135m-instruct", threads: 2)
        cached = m
        return m
    }
}
