import Foundation

/// A running count of generated tokens, read by another thread (a run's heartbeat) while
/// generation adds to it.
public final class GeneratedTokenCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    public init() {}

    /// Tokens generated since the model was opened.
    public var value: Int {
        lock.lock()
        defer { lock.unlock() }
        return count
    }

    /// Counts `n` more tokens (a backend calls it as it generates).
    public func add(_ n: Int) {
        lock.lock()
        count += n
        lock.unlock()
    }
}

/// A model that counts the tokens it generates (a long generation's heartbeat shows them).
public protocol GeneratedTokenCounting: AnyObject {
    var generatedTokens: GeneratedTokenCounter { get }
}

extension TransformerModel: GeneratedTokenCounting {}
