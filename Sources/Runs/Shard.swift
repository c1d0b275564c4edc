import Foundation

/// One shard of a run or an MCTS search split over machines: shard `number` of `count` takes the
/// items whose position in the task's document order (or the search plan) is `number − 1` modulo
/// `count` — a pure function of the position and the count, independent of batch size, thread
/// count and of what other shards do, so merged shards give exactly one machine's records.
public struct Shard: Equatable, Sendable, CustomStringConvertible {
    /// 1-based shard number (1...count).
    public let number: Int
    /// How many shards the work is split into.
    public let count: Int

    public init(number: Int, count: Int) throws(ShardError) {
        guard count >= 1, (1...count).contains(number) else { throw .outOfRange(number: number, count: count) }
        self.number = number
        self.count = count
    }

    /// `I/N` as on the command line.
    public var description: String { "\(number)/\(count)" }

    /// The shard's folder name, `I-of-N`.
    public var folderName: String { "\(number)-of-\(count)" }

    /// Whether the item at `position` (0-based, in document or plan order) belongs to this shard.
    public func contains(position: Int) -> Bool { position % count == number - 1 }

    /// This shard's items of `items`, in order.
    public func select<T>(_ items: [T]) -> [T] {
        items.enumerated().filter { contains(position: $0.offset) }.map(\.element)
    }

    /// Parses a folder name `I-of-N`; nil when `name` is not one.
    public init?(folderName name: Substring) {
        let parts = name.split(separator: "-")
        guard parts.count == 3, parts[1] == "of", let i = Int(parts[0]), let n = Int(parts[2]),
              let shard = try? Shard(number: i, count: n) else { return nil }
        self = shard
    }

    /// Parses `I/N` (1-based I).
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let number = Int(parts[0]), let count = Int(parts[1]) else { throw .malformed(text) }
        try self.init(number: number, count: count)
    }

    /// Environment variable giving the shard count of a Kubernetes Indexed Job (`--shards` overrides it).
    public static let countVariable = "DRLLM_SHARDS"

    /// The shard a scheduler assigned, from its environment: a Slurm job array
    /// (`SLURM_ARRAY_TASK_ID` − `SLURM_ARRAY_TASK_MIN` + 1 of `SLURM_ARRAY_TASK_COUNT`, or of
    /// `MAX − MIN + 1`), else a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX` + 1 of `count`, or of
    /// `$DRLLM_SHARDS`); nil when neither is there.
    public static func fromEnvironment(_ environment: [String: String], count: Int? = nil) throws(ShardError) -> Shard? {
        func int(_ key: String) throws(ShardError) -> Int? {
            guard let text = environment[key], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw .badVariable(name: key, value: text) }
            return value
        }
        if let id = try int("SLURM_ARRAY_TASK_ID") {
            let minimum = try int("SLURM_ARRAY_TASK_MIN") ?? 0
            let maximum = try int("SLURM_ARRAY_TASK_MAX")
            let arrayCount = try int("SLURM_ARRAY_TASK_COUNT")
            guard let total = count ?? arrayCount ?? maximum.map({ $0 - minimum + 1 }) else {
                throw .missingCount(scheduler: "Slurm array task \(id)")
            }
            return try Shard(number: id - minimum + 1, count: total)
        }
        if let index = try int("JOB_COMPLETION_INDEX") {
            let variable = try int(countVariable)
            guard let total = count ?? variable else {
                throw .missingCount(scheduler: "Kubernetes completion index \(index)")
            }
            return try Shard(number: index + 1, count: total)
        }
        return nil
    }
}

/// Why a shard could not be chosen.
public enum ShardError: LocalizedError, Equatable {
    case malformed(String)
    case outOfRange(number: Int, count: Int)
    case badVariable(name: String, value: String)
    case missingCount(scheduler: String)

    public var errorDescription: String? {
        switch self {
        case let .malformed(text): return "--shard '\(text)': expected I/N, e.g. 1/3 (shard 1 of 3)"
        case let .outOfRange(number, count): return "shard \(number)/\(count): expected 1 ≤ I ≤ N"
        case let .badVariable(name, value): return "$\(name) is '\(value)', not an integer"
        case let .missingCount(scheduler):
            return "\(scheduler): the shard count is unknown; give --shards N or set \(Shard.countVariable)"
        }
    }
}
