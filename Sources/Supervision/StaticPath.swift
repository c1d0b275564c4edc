import Benchmarks
import Engine
import Foundation
import Runs
import Support

/// One fixed layer path tried as the static control, and how it did on the training examples.
public struct StaticPathCandidate: Codable, Sendable, Equatable {
    /// The path (block indices in order).
    public var path: [Int]
    /// Where it came from: `default` (every block once), `majority` (each block's most common
    /// label among the kept records) or `mcts` (a best path found by the search); `default+majority`
    /// when the majority path is the default.
    public var origin: String
    /// Kept records whose best path is exactly this path.
    public var frequency: Int
    /// Training examples it makes correct, of `examples`.
    public var correct: Int
    public var examples: Int
}

/// The static control: the single fixed path that does best on the training examples.
public struct StaticPathSelection: Codable, Sendable, Equatable {
    public var model: String
    public var records: String
    /// Training examples judged per task (the first of each task in the records file).
    public var perTask: Int
    /// Every candidate tried, in candidate order.
    public var candidates: [StaticPathCandidate]
    /// Index into `candidates` of the chosen path: most training examples correct, then the
    /// shortest path, then candidate order.
    public var chosen: Int

    /// The chosen path.
    public var path: [Int] { candidates[chosen].path }
}

/// Chooses the static control from MCTS supervision records.
///
/// Candidates: the default path, the per-block majority of the kept records' labels, and the
/// `count` most frequent best paths among the kept records (ties: shorter first, then by blocks).
/// Each is judged with the search's own reward on the first `perTask` records of each task in the
/// file (kept or not, since a fixed path must also serve the examples no path fixed). If the best
/// fixed path matches the routers, routing adds nothing that depends on the input.
public enum StaticPathSearch {
    /// The candidate paths, in order, without repeats.
    public static func candidates(records: [SupervisionRecord], layerCount: Int, count: Int) -> [StaticPathCandidate] {
        let kept = records.filter { $0.kept && $0.bestPath != nil && $0.labels != nil }
        var frequency: [[Int]: Int] = [:]
        for r in kept { frequency[r.bestPath!, default: 0] += 1 }
        var out: [StaticPathCandidate] = []
        func add(_ path: [Int], _ origin: String) {
            if let same = out.firstIndex(where: { $0.path == path }) {
                if origin != "mcts" { out[same].origin += "+" + origin }  // e.g. the majority path is the default
                return
            }
            out.append(StaticPathCandidate(path: path, origin: origin, frequency: frequency[path] ?? 0, correct: 0, examples: 0))
        }
        add(LayerPath.full(layerCount).blocks, "default")
        if !kept.isEmpty {
            // Per block: the most common label (0 skip, 1 execute, 2 repeat); `max` keeps the first
            // of equals, so ties go to execute, then to skip.
            var majority: [Int] = []
            for layer in 0..<layerCount {
                var counts = [0, 0, 0]
                for r in kept where layer < r.labels!.count { counts[min(max(r.labels![layer], 0), 2)] += 1 }
                let best = [1, 0, 2].max { counts[$0] < counts[$1] }!
                majority.append(best)
            }
            add(LayerPath.fromMultiplicities(majority).blocks, "majority")
        }
        let ranked = frequency.sorted { a, b in
            if a.value != b.value { return a.value > b.value }
            if a.key.count != b.key.count { return a.key.count < b.key.count }
            return a.key.lexicographicallyPrecedes(b.key)
        }
        for (path, _) in ranked.prefix(count) { add(path, "mcts") }
        return out
    }

    /// Judges every candidate on the first `perTask` records of each task of `recordsFile` and
    /// returns the selection. `batch` examples are judged together (the numbers do not depend on it).
    public static func select(model: TransformerModel, modelName: String, recordsFile: String, tasksDirectory: URL,
                              chatTemplate: any ChatTemplate, count: Int, perTask: Int, batch: Int = 16,
                              progress: ((Int, Int) -> Void)? = nil) throws -> StaticPathSelection {
        let records = try SupervisionGenerator.readRecords(URL(fileURLWithPath: recordsFile))
        guard !records.isEmpty else { throw SupervisionError.missingRecords(file: recordsFile) }
        var candidates = Self.candidates(records: records, layerCount: model.layerCount, count: count)
        // The first `perTask` records of each task, in file order, matched to their training documents.
        var taken: [String: Int] = [:]
        var loaded: [String: (LoadedBenchmark, [String: Int])] = [:]
        var items: [(task: String, benchmark: LoadedBenchmark, index: Int)] = []
        for r in records where taken[r.task, default: 0] < perTask {
            if loaded[r.task] == nil {
                let b = try BenchmarkRegistry.load(r.task, from: tasksDirectory,
                                                   options: BenchmarkOptions(chatTemplate: chatTemplate, split: .training))
                loaded[r.task] = (b, Dictionary(b.documents.indices.map { (b.documents[$0].id, $0) }, uniquingKeysWith: { a, _ in a }))
            }
            let (benchmark, byID) = loaded[r.task]!
            guard let index = byID[r.id] else { throw SupervisionError.unknownDocument(file: recordsFile, task: r.task, id: r.id) }
            items.append((r.task, benchmark, index))
            taken[r.task, default: 0] += 1
        }
        var correct = [Int](repeating: 0, count: candidates.count)
        var done = 0
        for start in stride(from: 0, to: items.count, by: max(1, batch)) {
            let judges = try items[start..<min(items.count, start + max(1, batch))].map {
                try DocumentJudge(task: $0.task, benchmark: $0.benchmark, index: $0.index, model: model)
            }
            // One candidate at a time over the batch: each judge's session reuses the prefixes its
            // earlier candidates computed.
            for (c, candidate) in candidates.enumerated() {
                let verdicts = try DocumentJudge.judge(judges.map { ($0, LayerPath(candidate.path)) })
                correct[c] += verdicts.filter { $0 }.count
            }
            done += judges.count
            progress?(done, items.count)
        }
        for c in candidates.indices {
            candidates[c].correct = correct[c]
            candidates[c].examples = items.count
        }
        let chosen = candidates.indices.max { a, b in
            if candidates[a].correct != candidates[b].correct { return candidates[a].correct < candidates[b].correct }
            if candidates[a].path.count != candidates[b].path.count { return candidates[a].path.count > candidates[b].path.count }
            return a > b
        }!
        return StaticPathSelection(model: modelName, records: recordsFile, perTask: perTask, candidates: candidates, chosen: chosen)
    }
}

extension StaticPathSelection {
    /// The selection as Markdown: one row per candidate, the chosen one marked.
    public func markdown(command: String) -> String {
        var out = "# \(model): static control path\n\n"
        out += "The single fixed layer path that makes the most training examples correct (ties: the shorter path), "
        out += "judged with the search's reward on the first \(perTask) records of each task in `\(records)`. "
        out += "Applied to every test document, it is the control for the routers: if it matches them, routing adds "
        out += "nothing that depends on the input.\n\n"
        out += "Command: `\(command)`\n\n"
        out += "| | origin | blocks | path | times MCTS's best path | correct | accuracy % |\n"
        out += "|---|---|---:|---|---:|---:|---:|\n"
        for (i, c) in candidates.enumerated() {
            let accuracy = c.examples == 0 ? "—" : NumberText.fixed(100 * Double(c.correct) / Double(c.examples), 1)
            out += "| \(i == chosen ? "**chosen**" : "") | \(c.origin) | \(c.path.count) | `\(LayerPath(c.path))` | "
            out += "\(c.frequency) | \(c.correct)/\(c.examples) | \(accuracy) |\n"
        }
        out += "\nRun it on the test documents with `bench run --path \(LayerPath(path)) --name static …`.\n"
        return out
    }
}
