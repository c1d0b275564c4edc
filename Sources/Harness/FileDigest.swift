import Benchmarks
import Foundation

/// SHA-256 of files (model weights, router sets, MCTS records) for run configurations and provenance.
public enum FileDigest {
    /// The hex digest of the file at `path` (memory-mapped, so large model files cost no copy).
    public static func sha256(path: String) throws -> String {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            return SHA256.hexDigest(of: data)
        } catch {
            throw RunError.unreadableFile(path: path, reason: error.localizedDescription)
        }
    }
}
