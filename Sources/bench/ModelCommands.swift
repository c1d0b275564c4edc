import ArgumentParser
import Engine
import Foundation
import Support

struct Models: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the registry's models (data/models.json): architecture, whether installed, default routers and MCTS files.")
    @Flag(help: "Check each installed file's sha256 against the registry (reads every file once).") var verify = false

    func run() throws {
        let locator = ModelLocator()
        let registry = try locator.registry()
        var table = MarkdownTable(header: ["model", "architecture", "installed", "routers", "mcts", "source"])
        for entry in registry.models {
            var installed = "no (`scripts/setup.sh --model \(entry.name)`)"
            if let path = locator.installedPath(of: entry) {
                installed = "yes: \(path)"
                if verify {
                    let digest = try FileDigest.sha256(path: path)
                    installed += digest == entry.sha256 ? " (sha256 ok)" : " (sha256 MISMATCH: \(digest))"
                }
            }
            func exists(_ file: String) -> String { "\(file)\(FileManager.default.fileExists(atPath: file) ? "" : " (absent)")" }
            let parts = entry.source.parts
            let source = parts.count == 1 ? "PyPI \(parts[0].package)==\(parts[0].version)"
                : "PyPI \(parts[0].package) … \(parts[parts.count - 1].package)==\(parts[0].version) (\(parts.count) parts)"
            let name = entry.name + (entry.name == registry.defaultModel ? " (default)" : "")
            table.rows.append([name, entry.architecture, installed, exists(entry.routers), exists(entry.mcts), source])
        }
        print(table.render(), terminator: "")
    }
}
