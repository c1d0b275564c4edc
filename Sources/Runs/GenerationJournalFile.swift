import Engine
import Foundation
import Support

/// A task's `GenerationJournal` on disk, `<task>.generating.json` beside its records: for each
/// answer still being generated, the SHA-256 of its prompt's token ids and the tokens generated so
/// far. Rewritten atomically every `recordInterval` tokens of a sequence and when one finishes; gone
/// once nothing is in flight. A run resumed after an interruption (Ctrl-C, a killed job, the end of
/// a session) replays those tokens exactly and goes on, so at most `recordInterval` tokens of each
/// answer are generated twice. Commit it with partial results: the next sitting continues from it.
public final class GenerationJournalFile: GenerationJournal {
    public static let suffix = ".generating.json"
    static let formatVersion = 1

    public let url: URL
    public let recordInterval: Int
    /// Generated tokens by the SHA-256 (hex) of the prompt's ids (little-endian Int32s).
    private var sequences: [String: [Int32]]
    /// The first write that failed; `SuiteRunner` turns it into an error after the batch.
    public private(set) var writeFailure: RunError?

    private struct Stored: Codable {
        var formatVersion: Int
        var sequences: [Sequence]
        struct Sequence: Codable {
            var promptSHA256: String
            var generated: [Int32]
            enum CodingKeys: String, CodingKey { case promptSHA256 = "prompt_sha256", generated }
        }
        enum CodingKeys: String, CodingKey { case formatVersion = "format_version", sequences }
    }

    /// Opens (or starts) the journal at `url`.
    /// - Throws: `RunError.malformedFile` (naming the file) for one that is not such a journal,
    ///   `.newerFormat` for one a newer bench wrote.
    public init(url: URL, recordInterval: Int = 256) throws(RunError) {
        self.url = url
        self.recordInterval = max(1, recordInterval)
        sequences = [:]
        guard let data = try FileOperations.readIfExists(url) else { return }
        let stored: Stored
        do { stored = try JSONDecoder().decode(Stored.self, from: data) } catch {
            throw .malformedFile(path: url.path, reason: "not a generation journal (\(FileOperations.describe(error))); "
                                 + "delete it to regenerate those answers from their prompts")
        }
        guard stored.formatVersion <= Self.formatVersion else {
            throw .newerFormat(file: url.path, found: stored.formatVersion, supported: Self.formatVersion)
        }
        for s in stored.sequences { sequences[s.promptSHA256] = s.generated }
    }

    /// Answers in flight and their generated tokens, in all.
    public var inFlight: (answers: Int, tokens: Int) { (sequences.count, sequences.values.reduce(0) { $0 + $1.count }) }

    static func key(_ prompt: [Int32]) -> String {
        SHA256.hexDigest(of: prompt.withUnsafeBufferPointer { Data(buffer: $0) })
    }

    public func generatedSoFar(prompt: [Int32]) -> [Int32]? { sequences[Self.key(prompt)] }

    public func record(prompt: [Int32], generated: [Int32]) {
        sequences[Self.key(prompt)] = generated
        save()
    }

    public func finished(prompt: [Int32]) {
        if sequences.removeValue(forKey: Self.key(prompt)) != nil { save() }
    }

    private func save() {
        do {
            if sequences.isEmpty {
                try FileOperations.removeIfExists(url)
                return
            }
            let stored = Stored(formatVersion: Self.formatVersion, sequences: sequences.keys.sorted().map {
                Stored.Sequence(promptSHA256: $0, generated: sequences[$0]!)
            })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let data: Data
            do { data = try encoder.encode(stored) } catch {
                throw RunError.unwritableFile(path: url.path, reason: FileOperations.describe(error))
            }
            try FileOperations.writeAtomically(data, to: url)
        } catch let error as RunError {
            if writeFailure == nil { writeFailure = error }
        } catch {
            if writeFailure == nil { writeFailure = .unwritableFile(path: url.path, reason: FileOperations.describe(error)) }
        }
    }
}
