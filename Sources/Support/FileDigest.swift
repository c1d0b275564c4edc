import Foundation

/// SHA-256 of files (model weights, router sets, MCTS records) for run configurations and provenance.
public enum FileDigest {
    /// The hex digest of the file at `path` (memory-mapped, so large model files cost no copy).
    public static func sha256(path: String) throws(FileDigestError) -> String {
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
            return SHA256.hexDigest(of: data)
        } catch {
            throw FileDigestError(path: path, reason: error.localizedDescription)
        }
    }
}

/// A file that could not be read to compute its digest.
public struct FileDigestError: LocalizedError, Equatable {
    public var path: String
    public var reason: String
    public var errorDescription: String? { "cannot read \(path) to compute its sha256: \(reason)" }
}
