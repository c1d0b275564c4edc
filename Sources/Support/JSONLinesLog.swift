import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a JSON-lines log could not be opened, read or appended to.
public enum JSONLinesError: Error, Equatable {
    /// Another process holds the file's lock.
    case locked(file: String)
    case unwritable(file: String, reason: String)
    case unreadable(file: String, reason: String)
    /// A complete line that is not a valid record.
    case corruptLine(file: String, line: Int, reason: String)
    /// A record whose id is already in the file.
    case duplicate(file: String, id: String)
}

/// A durable, exclusively locked file of JSON lines: the one implementation behind run records
/// (`results/…/<task>.jsonl`) and MCTS supervision records.
///
/// Each `append` writes one canonical JSON line and fsyncs it before returning, so a kill loses
/// nothing finished; a kill mid-write leaves a line without its newline, which `read` does not
/// count as a record and `dropTornTail` removes. The lock (`flock`) refuses a second writer.
/// A reference type because it owns a file descriptor and its lock; closed on `close()` or deinit.
public final class JSONLinesLog {
    /// The file.
    public let file: URL
    private var descriptor: Int32
    /// Bytes of complete lines seen by the last `read`.
    private var completeBytes: Int?

    /// Opens `file` for appending (creating it) and takes its exclusive lock.
    public init(file: URL) throws(JSONLinesError) {
        self.file = file
        let fd = open(file.path, O_RDWR | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw .unwritable(file: file.path, reason: Self.lastError()) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let wouldBlock = errno == EWOULDBLOCK
            let reason = Self.lastError()
            closeDescriptor(fd)
            throw wouldBlock ? .locked(file: file.path) : .unwritable(file: file.path, reason: reason)
        }
        descriptor = fd
    }

    deinit { close() }

    /// Empties the file (a run started over with `--force`).
    public func truncateAll() throws(JSONLinesError) {
        guard ftruncate(descriptor, 0) == 0 else { throw .unwritable(file: file.path, reason: Self.lastError()) }
        completeBytes = 0
    }

    /// The records in the file, in order (nothing is written).
    public func read<T: Decodable>(as type: T.Type, id: (T) -> String) throws(JSONLinesError) -> [T] {
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw .unreadable(file: file.path, reason: error.localizedDescription)
        }
        let (records, complete) = try Self.parse(data, file: file.path, as: type, id: id)
        completeBytes = complete
        if complete < data.count { tornBytes = data.count - complete }
        return records
    }

    /// Bytes after the last newline found by `read` (a torn write), 0 when none.
    public private(set) var tornBytes = 0

    /// Cuts off a torn last line found by `read`, so the next append starts a fresh line.
    public func dropTornTail() throws(JSONLinesError) {
        guard tornBytes > 0, let completeBytes else { return }
        guard ftruncate(descriptor, off_t(completeBytes)) == 0 else {
            throw .unwritable(file: file.path, reason: Self.lastError())
        }
        tornBytes = 0
    }

    /// Appends `value` as one canonical JSON line and fsyncs it.
    public func append<T: Encodable>(_ value: T) throws(JSONLinesError) {
        precondition(descriptor >= 0, "append after close")
        let line: Data
        do { line = try CanonicalJSON.lineData(value) } catch {
            throw .unwritable(file: file.path, reason: "cannot encode the record: \(error)")
        }
        let failure = writeAll(descriptor, line)
        if let failure { throw .unwritable(file: file.path, reason: failure) }
        guard fsync(descriptor) == 0 else { throw .unwritable(file: file.path, reason: Self.lastError()) }
    }

    /// Releases the lock and closes the file. Safe to call twice.
    public func close() {
        if descriptor >= 0 {
            closeDescriptor(descriptor)
            descriptor = -1
        }
    }

    /// Parses newline-terminated JSON lines: blank lines are skipped, a corrupt complete line or
    /// a repeated `id` is an error naming the file and line, and bytes after the last newline (a
    /// torn write) are not a record. Returns the records and the bytes of complete lines.
    public static func parse<T: Decodable>(_ data: Data, file: String, as type: T.Type,
                                           id: (T) -> String) throws(JSONLinesError) -> (records: [T], completeBytes: Int) {
        let bytes = [UInt8](data)
        guard let lastNewline = bytes.lastIndex(of: 0x0A) else { return ([], 0) }
        let decoder = CanonicalJSON.decoder()
        var records: [T] = []
        var seen = Set<String>()
        var lineNumber = 0
        var start = 0
        while start <= lastNewline {
            let end = bytes[start...lastNewline].firstIndex(of: 0x0A)!
            lineNumber += 1
            let line = bytes[start..<end]
            start = end + 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let record: T
            do { record = try decoder.decode(T.self, from: Data(line)) } catch {
                throw .corruptLine(file: file, line: lineNumber, reason: CanonicalJSON.describe(error))
            }
            if !seen.insert(id(record)).inserted { throw .duplicate(file: file, id: id(record)) }
            records.append(record)
        }
        return (records, lastNewline + 1)
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// `close(2)`, callable where `JSONLinesLog.close()` shadows it.
private func closeDescriptor(_ fd: Int32) { _ = close(fd) }

/// Writes all of `data` to `fd`, retrying short writes and EINTR; the error text, nil on success.
public func writeAll(_ fd: Int32, _ data: Data) -> String? {
    data.withUnsafeBytes { raw -> String? in
        guard var p = raw.baseAddress else { return nil }
        var left = raw.count
        while left > 0 {
            let n = write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            p += n
            left -= n
        }
        return nil
    }
}
