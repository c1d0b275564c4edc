import Foundation
import Runs
import Support

/// `bench report --readme`: regenerates the results block of README.md from `results/`.
///
/// Only the text between the marker lines changes; the markers and everything around them stay
/// byte for byte. The block holds no timestamps and is computed deterministically (fixed bootstrap
/// seed), so running the report twice leaves the README unchanged the second time.
public enum ReadmeReport {
    /// The line that opens the generated block.
    public static let beginMarker = ReadmeMarkers.begin
    /// The line that closes it.
    public static let endMarker = ReadmeMarkers.end

    /// What the report compares and how it names things in the reproduce commands.
    public struct Options: Sendable {
        /// Runs compared (A = reference, B = candidate).
        public var runA: String
        public var runB: String
        /// Domains of the summary table, in order (e.g. `indomain`, `ood`).
        public var suites: [SuiteDefinition]
        /// The suite whose tasks get the per-benchmark table.
        public var perBenchmarkSuite: String
        /// How the results folder is written in reproduce commands (`--results` is added when it
        /// is not `results`).
        public var resultsArgument: String
        public var resamples: Int
        public var seed: UInt64

        public init(runA: String = "baseline", runB: String = "routed", suites: [SuiteDefinition] = SuiteDefinition.paperDomains,
                    perBenchmarkSuite: String = "ood", resultsArgument: String = "results",
                    resamples: Int = PairedBootstrap.defaultResamples, seed: UInt64 = PairedBootstrap.defaultSeed) {
            self.runA = runA
            self.runB = runB
            self.suites = suites
            self.perBenchmarkSuite = perBenchmarkSuite
            self.resultsArgument = resultsArgument
            self.resamples = resamples
            self.seed = seed
        }
    }

    /// Regenerates the block in `readme` from `resultsDir`; returns whether the file changed.
    ///
    /// Everything is checked and computed before the README is touched; it is replaced
    /// atomically, and not written at all when the text is already current.
    @discardableResult
    public static func update(readme: URL, resultsDir: URL, options: Options = Options()) throws(RunError) -> Bool {
        guard let data = try FileOperations.readIfExists(readme) else {
            throw .unreadableFile(path: readme.path, reason: "no such file")
        }
        let text = String(decoding: data, as: UTF8.self)
        _ = try markerRange(in: text, file: readme.path)   // fail on markers before the slow part
        let block = try render(resultsDir: resultsDir, options: options)
        let updated = try replaceBlock(in: text, with: block, file: readme.path)
        if updated == text { return false }
        try FileOperations.writeAtomically(Data(updated.utf8), to: readme)
        return true
    }

    /// Replaces the text between the markers with `block` (which should end with a newline).
    public static func replaceBlock(in text: String, with block: String, file: String = "README.md") throws(RunError) -> String {
        let range = try markerRange(in: text, file: file)
        var out = String(text[..<range.lowerBound])
        out += "\n" + block
        out += String(text[range.upperBound...])
        return out
    }

    /// The range strictly between the end of the begin marker and the start of the end marker.
    static func markerRange(in text: String, file: String) throws(RunError) -> Range<String.Index> {
        let begins = text.ranges(of: beginMarker), ends = text.ranges(of: endMarker)
        if begins.isEmpty { throw .readmeMarkerMissing(file: file, marker: beginMarker) }
        if ends.isEmpty { throw .readmeMarkerMissing(file: file, marker: endMarker) }
        guard begins.count == 1, ends.count == 1, begins[0].upperBound <= ends[0].lowerBound else {
            throw .readmeMarkersOutOfOrder(file: file, begin: beginMarker, end: endMarker)
        }
        return begins[0].upperBound..<ends[0].lowerBound
    }

    /// The generated block: a paper-style summary per model and domain, the per-benchmark table
    /// of `options.perBenchmarkSuite`, the settings, and the commands that reproduce them.
    ///
    /// - Throws: `missingRun` when no model in `resultsDir` has results for both runs.
    public static func render(resultsDir: URL, options: Options) throws(RunError) -> String {
        let store = ResultsStore(root: resultsDir)
        var comparisons: [(Comparison, [String: TaskResults], [String: TaskResults])] = []
        for model in try store.models() {
            let runs = try store.runs(model: model)
            guard runs.contains(options.runA), runs.contains(options.runB) else { continue }
            let a = try store.loadRun(model: model, run: options.runA)
            let b = try store.loadRun(model: model, run: options.runB)
            guard let c = try? Comparison(model: model, runA: options.runA, runB: options.runB, resultsA: a, resultsB: b,
                                          suites: options.suites, resamples: options.resamples, seed: options.seed)
            else { continue }
            comparisons.append((c, a, b))
        }
        if comparisons.isEmpty {
            throw .missingRun(folder: resultsDir.appendingPathComponent("<model>/\(options.runA)").path
                              + " and …/\(options.runB) (no model has both)")
        }

        let runA = options.runA, runB = options.runB
        var out = "<!-- Generated by `bench report --readme` from \(options.resultsArgument)/; "
            + "text between the markers is overwritten. -->\n\n"

        // Summary table: one row per model and domain.
        out += "### Summary (paper style: \(runB) vs \(runA))\n\n"
        var summary = MarkdownTable(
            header: ["model", "domain", "tasks", "n", "Δ accuracy (pts)", "95% CI", "mean task Δ", "95% CI",
                     "layers \(runA)", "layers \(runB)", "layers saved", "saved %", "path \(runA)", "path \(runB)"],
            alignments: [.left, .left] + Array(repeating: .right, count: 12))
        for (c, _, _) in comparisons {
            for s in c.suites {
                summary.rows.append([c.model, s.suite, String(s.tasks.count), String(s.scores.pairs),
                                     NumberText.fixed(s.scores.delta.delta, 1, signed: true), s.scores.delta.bracketText(),
                                     NumberText.fixed(s.macroDelta.delta, 1, signed: true), s.macroDelta.bracketText(),
                                     NumberText.fixed(s.scores.layersA, 1), NumberText.fixed(s.scores.layersB, 1),
                                     NumberText.fixed(s.scores.layersSaved, 2, signed: true),
                                     NumberText.fixed(s.scores.layersSavedPercent, 2, signed: true),
                                     NumberText.fixed(s.scores.pathA, 2), NumberText.fixed(s.scores.pathB, 2)])
            }
        }
        out += summary.render() + "\n"
        let apart = comparisons.flatMap { c in c.0.suites.flatMap { s in s.apart.map { "\($0) (\(c.0.model))" } } }
        out += "Δ accuracy and layers are pooled over the documents of a domain's accuracy tasks (the paper's totals); "
            + "mean task Δ is the mean of the tasks' Δ (the paper's average), its CI from a stratified paired bootstrap; "
            + (apart.isEmpty ? "" : "not pooled, since F1 is not an accuracy: " + apart.joined(separator: ", ")
                + " (its own row in the per-benchmark table); ")
            + "Δ = \(runB) − \(runA); 95% CI from a paired bootstrap (\(options.resamples) resamples, seed \(options.seed)); "
            + "layers = block applications per document over all forward passes (the paper's measure: it grows with "
            + "the tokens a run generates); path = blocks per token, the routing decision alone.\n\n"
        out += "Reproduce:\n\n```sh\n"
        for (c, a, b) in comparisons {
            for s in c.suites {
                let suite = options.suites.first { $0.name == s.suite }!
                // Every compared task of the suite, those reported apart included.
                let tasks = suite.tasks.filter { s.tasks.contains($0) || s.apart.contains($0) }
                out += command(model: c.model, suite: suite,
                               tasks: tasks, configurations: tasks.compactMap { a[$0]?.summary.configuration }
                                   + tasks.compactMap { b[$0]?.summary.configuration },
                               resultsArgument: options.resultsArgument) + "\n"
            }
        }
        out += "bench report --readme\n```\n"

        // Per-benchmark table of one suite.
        if let suite = options.suites.first(where: { $0.name == options.perBenchmarkSuite }) {
            var table = MarkdownTable(
                header: ["model", "benchmark", "metric", "n", runA, runB, "Δ (pts)", "95% CI", "layers \(runA)",
                         "layers \(runB)", "saved %", "path \(runA)", "path \(runB)"],
                alignments: [.left, .left, .left] + Array(repeating: .right, count: 10))
            var commands: [String] = []
            for (c, a, b) in comparisons {
                let rows = c.tasks.filter { suite.tasks.contains($0.task) }
                for t in rows {
                    table.rows.append([c.model, t.task, t.metric, String(t.scores.pairs),
                                       NumberText.fixed(t.scores.scoreA, 1), NumberText.fixed(t.scores.scoreB, 1),
                                       NumberText.fixed(t.scores.delta.delta, 1, signed: true), t.scores.delta.bracketText(),
                                       NumberText.fixed(t.scores.layersA, 1), NumberText.fixed(t.scores.layersB, 1),
                                       NumberText.fixed(t.scores.layersSavedPercent, 2, signed: true),
                                       NumberText.fixed(t.scores.pathA, 2), NumberText.fixed(t.scores.pathB, 2)])
                }
                if !rows.isEmpty {
                    let names = rows.map(\.task)
                    commands.append(command(model: c.model, suite: suite, tasks: names,
                                            configurations: names.compactMap { a[$0]?.summary.configuration }
                                                + names.compactMap { b[$0]?.summary.configuration },
                                            resultsArgument: options.resultsArgument))
                    commands.append("bench compare \(runA) \(runB) --model \(c.model)"
                                    + resultsOption(options.resultsArgument))
                }
            }
            if !table.rows.isEmpty {
                out += "\n### Per benchmark (\(suite.name))\n\n" + table.render() + "\n"
                out += "Reproduce:\n\n```sh\n" + commands.joined(separator: "\n") + "\n```\n"
            }
        }

        // Each run on its own, over every document it has scored: the paired tables above only
        // show documents both runs have, so a run that went further (a full baseline next to a
        // limited routed run) is reported here.
        var own = MarkdownTable(header: ["model", "task", "metric", runA, "n \(runA)", "time \(runA)",
                                         runB, "n \(runB)", "time \(runB)"],
                                alignments: [.left, .left, .left] + Array(repeating: .right, count: 6))
        for (c, a, b) in comparisons {
            let suiteOrder = options.suites.flatMap(\.tasks)
            let names = Set(a.keys).union(b.keys).sorted {
                (suiteOrder.firstIndex(of: $0) ?? Int.max, $0) < (suiteOrder.firstIndex(of: $1) ?? Int.max, $1)
            }
            func cells(_ r: TaskResults?) -> [String] {
                guard let s = r?.summary, let m = s.metrics[s.primaryMetric] else { return ["–", "–", "–"] }
                let score = NumberText.fixed(m.value * s.pointsScale, 1)
                let se = m.stderr.map { " ± " + NumberText.fixed($0 * s.pointsScale, 1) } ?? ""
                let selection = s.configuration.limit.map { "--limit \($0)" } ?? "all"
                return [score + se, s.complete ? "\(s.n), \(selection)" : "\(s.n) of \(s.documents), \(selection)",
                        NumberText.duration(s.timing.seconds)]
            }
            for name in names {
                let metric = (a[name] ?? b[name])!.summary.primaryMetric
                own.rows.append([c.model, name, metric] + cells(a[name]) + cells(b[name]))
            }
        }
        out += "\n### Each run over all the documents it has scored\n\n" + own.render() + "\n"
        out += "Score ± standard error (points); n = documents scored, and which documents the run covers: `all` of the "
            + "task or its first N (of each subject/subset for groups); \"k of m\" while a run is unfinished. Rerunning a "
            + "run's command without `--limit` continues it to the whole task. Time = model time over those documents, "
            + "the sum of their records' seconds (each batch's wall time shared among its documents), so it adds up "
            + "across interrupted and resumed sittings; it counts time spent sharing the cores with other work, if any.\n"

        // Settings that the paper leaves open and our tables must state.
        out += "\n### Settings\n\n"
        var settings = MarkdownTable(header: ["model", "task", "few-shot", "chat template", "limit", "seed", "bench"],
                                     alignments: [.left, .left, .right, .left, .right, .right, .left])
        for (c, a, _) in comparisons {
            for t in c.tasks {
                guard let cfg = a[t.task]?.summary.configuration else { continue }
                settings.rows.append([c.model, t.task, String(cfg.fewshot), cfg.chatTemplate ? "yes" : "no",
                                      cfg.limit.map(String.init) ?? "all", String(cfg.seed), cfg.benchVersion])
            }
        }
        out += settings.render()
        return out
    }

    private static func resultsOption(_ argument: String) -> String {
        argument == "results" ? "" : " --results \(shellQuote(argument))"
    }

    /// The `bench run` command for `tasks` of `suite`, with the options the stored configurations
    /// share (few-shot as requested, seed, router file). A task's limit is the largest of its
    /// configurations' (the documents both runs scored); tasks whose limits differ get one
    /// command each per limit, on separate lines, so that every command reproduces its rows.
    static func command(model: String, suite: SuiteDefinition, tasks: [String], configurations: [RunConfiguration],
                        resultsArgument: String) -> String {
        func limit(of task: String) -> Int? { configurations.filter { $0.task == task }.compactMap(\.limit).max() }
        var groups: [(limit: Int?, tasks: [String])] = []
        for task in tasks {
            let l = limit(of: task)
            if let g = groups.firstIndex(where: { $0.limit == l }) {
                groups[g].tasks.append(task)
            } else {
                groups.append((l, [task]))
            }
        }
        return groups.map { group in
            command(model: model, suite: suite, tasks: group.tasks, limit: group.limit,
                    configurations: configurations.filter { group.tasks.contains($0.task) }, resultsArgument: resultsArgument)
        }.joined(separator: "\n")
    }

    private static func command(model: String, suite: SuiteDefinition, tasks: [String], limit: Int?,
                                configurations: [RunConfiguration], resultsArgument: String) -> String {
        var cmd = "bench run"
        cmd += Set(tasks) == Set(suite.tasks) ? " --suite \(suite.name)" : " --tasks \(tasks.joined(separator: ","))"
        cmd += " --model \(shellQuote(model))"
        func common<T: Hashable>(_ f: (RunConfiguration) -> T) -> T? {
            let values = Set(configurations.map(f))
            return values.count == 1 ? values.first : nil
        }
        if let limit { cmd += " --limit \(limit)" }
        if let fewshot = common(\.fewshotRequested), let k = fewshot { cmd += " --fewshot \(k)" }
        if let seed = common(\.seed) { cmd += " --seed \(seed)" }
        if let router = configurations.compactMap(\.routerFile).first { cmd += " --router \(shellQuote(router))" }
        cmd += resultsOption(resultsArgument)
        return cmd
    }

    /// Quotes a word for a POSIX shell when it holds anything beyond a safe set.
    static func shellQuote(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@")
        if !word.isEmpty && word.allSatisfy(safe.contains) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
