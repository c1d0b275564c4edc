/// The ordered list of transformer blocks one forward pass runs.
///
/// A block that is absent is skipped; a block listed twice in a row is repeated (applied twice).
/// The KV cache is indexed by *position in the path*, so a repeated block keeps two caches.
public struct LayerPath: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Block indices in execution order.
    public let blocks: [Int]

    /// Creates a path from raw block indices without validation against a model.
    public init(_ blocks: [Int]) { self.blocks = blocks }

    /// The baseline path: every block once, in order.
    public static func full(_ layerCount: Int) -> LayerPath { LayerPath(Array(0..<layerCount)) }

    /// Number of block applications one token costs along this path.
    public var count: Int { blocks.count }

    /// How often each block appears (0 = skipped, 1 = executed, 2 = repeated).
    public func multiplicities(layerCount: Int) -> [Int] {
        var m = [Int](repeating: 0, count: layerCount)
        for b in blocks where b >= 0 && b < layerCount { m[b] += 1 }
        return m
    }

    /// Builds a path from per-block multiplicities (0 skip, 1 execute, 2 repeat).
    public static func fromMultiplicities(_ m: [Int]) -> LayerPath {
        var blocks: [Int] = []
        for (i, k) in m.enumerated() { for _ in 0..<max(0, k) { blocks.append(i) } }
        return LayerPath(blocks)
    }

    /// Checks the path against a model with `layerCount` blocks: indices in range, non-decreasing,
    /// no block more than twice, repeats adjacent, and at least one block.
    public func validate(layerCount: Int) throws(LayerPathError) {
        if blocks.isEmpty { throw .empty }
        for (i, b) in blocks.enumerated() {
            if b < 0 || b >= layerCount { throw .outOfRange(index: b, position: i, layerCount: layerCount) }
            if i > 0 && b < blocks[i - 1] { throw .notIncreasing(position: i) }
            if i > 1 && blocks[i - 2] == b { throw .tooManyRepeats(block: b) }
        }
    }

    /// Parses `"0,1,1,3"`; whitespace around entries is allowed.
    public static func parse(_ text: String) throws(LayerPathError) -> LayerPath {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        var blocks: [Int] = []
        for (i, p) in parts.enumerated() {
            let t = p.trimmingCharacters(in: .whitespaces)
            guard let v = Int(t) else { throw .malformed(text: text, entry: i, found: String(t)) }
            blocks.append(v)
        }
        return LayerPath(blocks)
    }

    public var description: String { blocks.map(String.init).joined(separator: ",") }
}

/// Why a layer path was refused.
public enum LayerPathError: Error, Equatable, CustomStringConvertible {
    case empty
    case malformed(text: String, entry: Int, found: String)
    case outOfRange(index: Int, position: Int, layerCount: Int)
    case notIncreasing(position: Int)
    case tooManyRepeats(block: Int)

    public var description: String {
        switch self {
        case .empty: return "layer path is empty: at least one block index is required"
        case let .malformed(text, entry, found):
            return "malformed layer path '\(text)': entry \(entry) is '\(found)', expected a block index (integer)"
        case let .outOfRange(index, position, layerCount):
            return "layer path entry \(position) is block \(index), but the model has blocks 0...\(layerCount - 1)"
        case let .notIncreasing(position):
            return "layer path must list blocks in non-decreasing order (entry \(position) goes back)"
        case let .tooManyRepeats(block):
            return "block \(block) appears more than twice in the layer path (at most one repeat)"
        }
    }
}

import Foundation
