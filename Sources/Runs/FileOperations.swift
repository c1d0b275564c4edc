import Foundation
import Support
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small POSIX file operations the store needs with exact semantics: atomic replacement,
/// flushed appends, truncation and advisory locks.
public enum FileOperations {
    /// The text of the current `errno`.
    public static func lastError() -> String { String(cString: strerror(errno)) }

    /// Creates `folder` (and its parents) and proves it writable by creating and deleting a probe
    /// file — `access(W_OK)` is not enough, it says yes to root on a read-only mount.
    public static func ensureWritableFolder(_ folder: URL) throws(RunError) {
        try createFolders(folder)
        let probe = folder.appendingPathComponent(".bench-write-probe-\(getpid())")
        let fd = open(probe.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw .unwritableFolder(path: folder.path, reason: lastError()) }
        close(fd)
        unlink(probe.path)
    }

    /// `mkdir -p` with a reason a user can act on (Foundation's `createDirectory` reports e.g. a
    /// regular file in the way as "NSCocoaErrorDomain error 512" on Linux): names the file that
    /// blocks the path, or gives `mkdir`'s own error.
    public static func createFolders(_ folder: URL) throws(RunError) {
        var missing: [String] = []
        var path = folder.standardizedFileURL.path
        var isFolder: ObjCBool = false
        while !FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) {
            missing.append(path)
            let parent = (path as NSString).deletingLastPathComponent
            if parent.isEmpty || parent == path { break }
            path = parent
        }
        if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
            throw .unwritableFolder(path: folder.path, reason: "'\(path)' is a file, not a folder")
        }
        for p in missing.reversed() where mkdir(p, 0o755) != 0 && errno != EEXIST {
            let reason = lastError()
            throw .unwritableFolder(path: folder.path, reason: missing.count == 1 ? reason : "cannot create '\(p)': \(reason)")
        }
    }

    /// Writes `data` to `url` so that readers see either the old file or the whole new one:
    /// write a hidden temporary file in the same folder, fsync it, rename it over the target.
    public static func writeAtomically(_ data: Data, to url: URL) throws(RunError) {
        let temp = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw .unwritableFile(path: url.path, reason: lastError()) }
        do {
            try writeAll(fd: fd, data: data, path: url.path)
            guard fsync(fd) == 0 else { throw RunError.unwritableFile(path: url.path, reason: lastError()) }
        } catch let error as RunError {
            close(fd)
            unlink(temp.path)
            throw error
        } catch {
            close(fd)
            unlink(temp.path)
            throw .unwritableFile(path: url.path, reason: "\(error)")
        }
        close(fd)
        guard rename(temp.path, url.path) == 0 else {
            let reason = lastError()
            unlink(temp.path)
            throw .unwritableFile(path: url.path, reason: reason)
        }
    }

    /// Writes all of `data` to `fd`, retrying short writes and EINTR.
    public static func writeAll(fd: Int32, data: Data, path: String) throws(RunError) {
        let failure = Support.writeAll(fd, data)
        if let failure { throw .unwritableFile(path: path, reason: failure) }
    }

    /// Closes a file descriptor (from contexts where a `close` method shadows the C function).
    public static func closeDescriptor(_ fd: Int32) { _ = close(fd) }

    /// Reads a whole file; nil when it does not exist.
    public static func readIfExists(_ url: URL) throws(RunError) -> Data? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: describe(error))
        }
    }

    /// Removes a file if it exists.
    public static func removeIfExists(_ url: URL) throws(RunError) {
        if unlink(url.path) != 0 && errno != ENOENT {
            throw .unwritableFile(path: url.path, reason: lastError())
        }
    }

    /// A short reason for a Foundation error (its POSIX cause when there is one).
    public static func describe(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        return ns.localizedDescription
    }

    /// Whether `name` can be one path component: non-empty, no '/', no NUL, no leading '.'.
    public static func isSafeComponent(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("\0") && !name.hasPrefix(".")
    }
}
