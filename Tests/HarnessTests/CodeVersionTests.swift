import Foundation
import Runs
import XCTest

/// `CodeVersion.current`: the commit, `-dirty` for changed code, and changed results ignored.
final class CodeVersionTests: XCTestCase {
    private func git(_ arguments: [String], in folder: URL) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "-C", folder.path, "-c", "user.name=t", "-c", "user.email=t@t"] + arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("git \(arguments.joined(separator: " ")) failed") }
    }

    func testChangedResultsDoNotMakeTheCodeDirtyButChangedCodeDoes() throws {
        let repo = try makeTemporaryFolder(self)
        for folder in ["Sources", "results"] {
            try FileManager.default.createDirectory(at: repo.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        let code = repo.appendingPathComponent("Sources/a.swift"), records = repo.appendingPathComponent("results/a.jsonl")
        try Data("let a = 1\n".utf8).write(to: code)
        try Data("{}\n".utf8).write(to: records)
        try git(["init", "-q"], in: repo)
        try git(["add", "."], in: repo)
        try git(["commit", "-q", "-m", "first"], in: repo)

        let clean = try XCTUnwrap(CodeVersion.current(repositoryDirectory: repo))
        XCTAssertEqual(clean.count, 12, clean)
        try Data("{}\n{}\n".utf8).write(to: records)   // a resumed run appended a record
        XCTAssertEqual(CodeVersion.current(repositoryDirectory: repo), clean)
        try Data("let a = 2\n".utf8).write(to: code)
        XCTAssertEqual(CodeVersion.current(repositoryDirectory: repo), clean + "-dirty")
        XCTAssertNil(CodeVersion.current(repositoryDirectory: try makeTemporaryFolder(self)), "no checkout")
    }
}
