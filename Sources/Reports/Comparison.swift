import Benchmarks
import Foundation
import Runs
import Support

/// A named set of tasks that gets one pooled row (a suite such as `indomain`, or a group such as
/// `agieval_en`).
public struct SuiteDefinition: Hashable, Sendable {
    public var name: String
    public var tasks: [String]

    public init(name: String, tasks: [String]) {
        self.name = name
        self.tasks = tasks
    }
}

/// Scores and layer counts of one task (or a pooled set of tasks) in runs A and B, over the
/// documents both runs scored.
public struct PairedScores: Hashable, Sendable {
    /// Documents scored by both runs.
    public var pairs: Int
    /// Score of A in points (mean of the primary metric × points scale).
    public var scoreA: Double
    /// Score of B in points.
    public var scoreB: Double
    /// Standard error of A's score in points (nil for fewer than two documents).
    public var stderrA: Double?
    /// Standard error of B's score in points.
    public var stderrB: Double?
    /// B − A in points, with its paired-bootstrap percentile interval.
    public var delta: BootstrapInterval
    /// Mean block applications per document in A ("layers", docs/METHOD.md §4).
    public var layersA: Double
    /// Mean block applications per document in B.
    public var layersB: Double
    /// Mean path length (blocks each token passes through) per document in A: the routing
    /// decision alone, apart from how many tokens a document's forward passes carry.
    public var pathA: Double
    /// Mean path length per document in B.
    public var pathB: Double
    /// Sum of A's per-document seconds.
    public var secondsA: Double
    /// Sum of B's per-document seconds.
    public var secondsB: Double

    /// Layers saved per document: A − B (positive when B uses fewer).
    public var layersSaved: Double { layersA - layersB }
    /// `layersSaved` as a percentage of A's layers; nil when A used none.
    public var layersSavedPercent: Double? { layersA > 0 ? 100 * layersSaved / layersA : nil }
    /// B's time over A's; nil when A took no time.
    public var timeRatio: Double? { secondsA > 0 ? secondsB / secondsA : nil }

    /// Pairs points scores `a[i]`/`b[i]` with block applications and seconds of the same documents.
    init?(a: [Double], b: [Double], layersA: [Double], layersB: [Double], pathA: [Double], pathB: [Double],
          secondsA: Double, secondsB: Double, resamples: Int, seed: UInt64) {
        guard let interval = PairedBootstrap.interval(a: a, b: b, resamples: resamples, seed: seed) else { return nil }
        pairs = a.count
        scoreA = Statistics.mean(a)
        scoreB = Statistics.mean(b)
        stderrA = Statistics.meanStandardError(a)
        stderrB = Statistics.meanStandardError(b)
        delta = interval
        self.layersA = (layersA.isEmpty ? 0 : Statistics.mean(layersA))
        self.layersB = (layersB.isEmpty ? 0 : Statistics.mean(layersB))
        self.pathA = (pathA.isEmpty ? 0 : Statistics.mean(pathA))
        self.pathB = (pathB.isEmpty ? 0 : Statistics.mean(pathB))
        self.secondsA = secondsA
        self.secondsB = secondsB
    }
}

/// One task compared between runs A and B.
public struct TaskComparison: Hashable, Sendable {
    public var task: String
    /// The primary metric compared (e.g. `acc,none`).
    public var metric: String
    /// Scores over the paired documents.
    public var scores: PairedScores
    /// Documents only A scored (not compared).
    public var onlyInA: Int
    /// Documents only B scored (not compared).
    public var onlyInB: Int
    /// Per-block skip/execute/repeat shares of A's and B's paired documents.
    public var layerUsageA: [LayerUsage]
    public var layerUsageB: [LayerUsage]
    /// Whether each run's summary covers all its documents (an interrupted run's does not).
    public var completeA: Bool
    public var completeB: Bool
}

/// A suite (or group) pooled over its tasks' paired documents, as the paper's summary rows.
public struct SuiteComparison: Hashable, Sendable {
    public var suite: String
    /// Tasks of the suite present in both runs, in suite order.
    public var tasks: [String]
    /// Micro averages over all paired documents of those tasks (the paper's "total" columns):
    /// scores, Δ with a bootstrap over the pooled documents, layers per document.
    public var scores: PairedScores
    /// Mean of the tasks' Δ (the paper's "avg Δ"), in points, with a stratified paired bootstrap
    /// interval (each task's documents redrawn within the task, tasks weighted equally).
    public var macroDelta: BootstrapInterval
    /// Tasks of the suite compared but not pooled, because their metric is not an accuracy
    /// (SQuAD v2's F1): reported apart in the per-task rows only.
    public var apart: [String]

    /// Whether a task with `metric` is pooled into suite rows: accuracies only (`acc…`,
    /// `exact_match…`), never a mean F1 beside them.
    public static func pools(metric: String) -> Bool { metric.hasPrefix("acc") || metric.hasPrefix("exact_match") }
}

/// `bench compare A B`: per-task and per-suite differences between two runs of one model.
///
/// Documents are paired by id; Δ is B − A in points with a paired-bootstrap percentile interval
/// (fixed seed, `resamples` draws); layers are block applications per document; saved = A − B.
/// Suite rows pool the documents of their tasks (micro average, the paper's "total"), and also
/// give the mean of the per-task Δ (macro, the paper's "avg Δ").
public struct Comparison: Hashable, Sendable {
    public var model: String
    public var runA: String
    public var runB: String
    /// Tasks present in both runs: suite order first, then the rest by name.
    public var tasks: [TaskComparison]
    /// One row per suite with at least one compared task.
    public var suites: [SuiteComparison]
    /// Tasks with results in only one of the runs (reported, not compared).
    public var onlyInA: [String]
    public var onlyInB: [String]
    /// Bootstrap settings.
    public var resamples: Int
    public var seed: UInt64

    /// Compares two runs' loaded results.
    ///
    /// - Throws: `noCommonTasks` when no task has paired documents; `metricMismatch` when a
    ///   task's primary metric differs between the runs.
    public init(model: String, runA: String, runB: String,
                resultsA: [String: TaskResults], resultsB: [String: TaskResults],
                suites: [SuiteDefinition] = [],
                resamples: Int = PairedBootstrap.defaultResamples,
                seed: UInt64 = PairedBootstrap.defaultSeed,
                folderA: String = "A", folderB: String = "B") throws(RunError) {
        self.model = model
        self.runA = runA
        self.runB = runB
        self.resamples = resamples
        self.seed = seed
        onlyInA = resultsA.keys.filter { resultsB[$0] == nil }.sorted()
        onlyInB = resultsB.keys.filter { resultsA[$0] == nil }.sorted()

        var order: [String] = []
        for suite in suites { for t in suite.tasks where !order.contains(t) { order.append(t) } }
        let common = Set(resultsA.keys).intersection(resultsB.keys)
        let ordered = order.filter(common.contains) + common.subtracting(order).sorted()

        // Per task: the paired per-document series, kept for the pooled suite rows.
        var series: [String: Series] = [:]
        var tasks: [TaskComparison] = []
        for task in ordered {
            let a = resultsA[task]!, b = resultsB[task]!
            let metric = a.summary.primaryMetric
            if b.summary.primaryMetric != metric {
                throw .metricMismatch(task: task, metricA: metric, metricB: b.summary.primaryMetric)
            }
            let s = Series(a: a, b: b, metric: metric)
            guard let scores = s.scores(resamples: resamples, seed: seed) else { continue }
            series[task] = s
            tasks.append(TaskComparison(task: task, metric: metric, scores: scores,
                                        onlyInA: s.onlyInA, onlyInB: s.onlyInB,
                                        layerUsageA: LayerUsage.perLayer(s.recordsA, layerCount: a.summary.configuration.layerCount),
                                        layerUsageB: LayerUsage.perLayer(s.recordsB, layerCount: b.summary.configuration.layerCount),
                                        completeA: a.summary.complete, completeB: b.summary.complete))
        }
        if tasks.isEmpty { throw .noCommonTasks(folderA: folderA, folderB: folderB) }
        self.tasks = tasks

        var suiteRows: [SuiteComparison] = []
        let metricOf = Dictionary(tasks.map { ($0.task, $0.metric) }, uniquingKeysWith: { a, _ in a })
        for suite in suites {
            let compared = suite.tasks.filter { series[$0] != nil }
            let members = compared.filter { SuiteComparison.pools(metric: metricOf[$0]!) }
            guard !members.isEmpty else { continue }
            var pooled = Series()
            for t in members { pooled.append(series[t]!) }
            guard let scores = pooled.scores(resamples: resamples, seed: seed),
                  let macro = PairedBootstrap.macroInterval(groups: members.map { (series[$0]!.a, series[$0]!.b) },
                                                            resamples: resamples, seed: seed) else { continue }
            suiteRows.append(SuiteComparison(suite: suite.name, tasks: members, scores: scores, macroDelta: macro,
                                             apart: compared.filter { !members.contains($0) }))
        }
        self.suites = suiteRows
    }

    /// Loads `<resultsDir>/<model>/<runA>` and `<runB>` and compares them (suite rows for the
    /// paper's domains by default).
    ///
    /// - Throws: `missingRun` naming the folder when a run has no results.
    public static func load(resultsDir: URL, model: String, runA: String = "baseline", runB: String = "routed",
                            suites: [SuiteDefinition] = SuiteDefinition.paperDomains,
                            resamples: Int = PairedBootstrap.defaultResamples,
                            seed: UInt64 = PairedBootstrap.defaultSeed) throws(RunError) -> Comparison {
        let store = ResultsStore(root: resultsDir)
        try ResultsStore.validate(kind: "model", model)
        try ResultsStore.validate(kind: "run", runA)
        try ResultsStore.validate(kind: "run", runB)
        let a = try store.loadRun(model: model, run: runA)
        let b = try store.loadRun(model: model, run: runB)
        return try Comparison(model: model, runA: runA, runB: runB, resultsA: a, resultsB: b, suites: suites,
                              resamples: resamples, seed: seed,
                              folderA: store.runFolder(model: model, run: runA).path,
                              folderB: store.runFolder(model: model, run: runB).path)
    }

    // MARK: Rendering

    /// The per-task table as Markdown.
    public func taskTable() -> MarkdownTable {
        MarkdownTable(
            header: ["task", "metric", "n", runA, runB, "Δ (pts)", "95% CI", "layers \(runA)", "layers \(runB)",
                     "saved", "saved %", "path \(runA)", "path \(runB)", "time \(runB)/\(runA)"],
            alignments: [.left, .left] + Array(repeating: .right, count: 12),
            rows: tasks.map { t in [t.task, t.metric] + Self.cells(t.scores) })
    }

    /// The per-suite (paper-style) table as Markdown.
    public func suiteTable() -> MarkdownTable {
        MarkdownTable(
            header: ["suite", "tasks", "n", runA, runB, "Δ (pts)", "95% CI", "layers \(runA)", "layers \(runB)",
                     "saved", "saved %", "path \(runA)", "path \(runB)", "time \(runB)/\(runA)", "mean task Δ", "95% CI"],
            alignments: [.left, .right] + Array(repeating: .right, count: 14),
            rows: suites.map { s in
                [s.suite, String(s.tasks.count)] + Self.cells(s.scores)
                    + [NumberText.fixed(s.macroDelta.delta, 1, signed: true), s.macroDelta.bracketText()]
            })
    }


    static func cells(_ s: PairedScores) -> [String] {
        [String(s.pairs),
         NumberText.fixed(s.scoreA, 1), NumberText.fixed(s.scoreB, 1),
         NumberText.fixed(s.delta.delta, 1, signed: true), s.delta.bracketText(),
         NumberText.fixed(s.layersA, 1), NumberText.fixed(s.layersB, 1),
         NumberText.fixed(s.layersSaved, 2, signed: true), NumberText.fixed(s.layersSavedPercent, 2, signed: true),
         NumberText.fixed(s.pathA, 2), NumberText.fixed(s.pathB, 2),
         s.timeRatio.map { NumberText.fixed($0, 2) + "×" } ?? "—"]
    }

    /// The whole report as Markdown: heading, per-task table, suite table, notes.
    public func markdown() -> String {
        var out = "## \(model): \(runA) vs \(runB)\n\n"
        out += taskTable().render()
        if !suites.isEmpty {
            out += "\n### Per suite (pooled over documents, as the paper's totals)\n\n"
            out += suiteTable().render()
            out += "\nMean task Δ: the mean of the tasks' Δ (the paper's average), its 95% CI from a stratified paired bootstrap "
            out += "(each task's documents redrawn within the task). Suite rows hold accuracies only"
            let apart = suites.flatMap(\.apart)
            out += apart.isEmpty ? ".\n" : "; reported apart, not pooled: " + apart.joined(separator: ", ") + " (not an accuracy).\n"
        }
        out += "\nΔ = \(runB) − \(runA) in points over the documents both runs scored; "
        out += "95% CI: paired bootstrap, percentile method, \(resamples) resamples, seed \(seed). "
        out += "Layers = block applications per document over all forward passes (the paper's measure); "
        out += "saved = \(runA) − \(runB); path = blocks per token (the routed path's length, mean per document), "
        out += "which separates the routing decision from how many tokens a run generates.\n"
        let unpaired = tasks.filter { $0.onlyInA > 0 || $0.onlyInB > 0 }
        for t in unpaired {
            out += "\nNote: \(t.task): \(t.onlyInA) documents only in \(runA), \(t.onlyInB) only in \(runB) (not compared)."
        }
        let incomplete = tasks.filter { !$0.completeA || !$0.completeB }
        for t in incomplete {
            let which = [t.completeA ? nil : runA, t.completeB ? nil : runB].compactMap { $0 }.joined(separator: " and ")
            out += "\nNote: \(t.task): the \(which) run is incomplete (interrupted); rerun `bench run` to finish it."
        }
        if !onlyInA.isEmpty { out += "\nNote: only in \(runA): \(onlyInA.joined(separator: ", "))." }
        if !onlyInB.isEmpty { out += "\nNote: only in \(runB): \(onlyInB.joined(separator: ", "))." }
        if !unpaired.isEmpty || !incomplete.isEmpty || !onlyInA.isEmpty || !onlyInB.isEmpty { out += "\n" }
        return out
    }

    /// The CSV header.
    public static let csvHeader = [
        "model", "run_a", "run_b", "kind", "name", "metric", "n", "score_a", "score_b", "stderr_a", "stderr_b",
        "delta", "ci_lower", "ci_upper", "layers_a", "layers_b", "layers_saved", "layers_saved_percent",
        "seconds_a", "seconds_b", "time_ratio", "path_length_a", "path_length_b",
        "mean_task_delta", "mean_task_delta_lower", "mean_task_delta_upper",
    ]

    /// Tasks (kind `task`) then suites (kind `suite`), full precision.
    public func csv() -> String {
        func row(kind: String, name: String, metric: String, _ s: PairedScores) -> [String] {
            [model, runA, runB, kind, name, metric, String(s.pairs),
             NumberText.exact(s.scoreA), NumberText.exact(s.scoreB), NumberText.exact(s.stderrA), NumberText.exact(s.stderrB),
             NumberText.exact(s.delta.delta), NumberText.exact(s.delta.lower), NumberText.exact(s.delta.upper),
             NumberText.exact(s.layersA), NumberText.exact(s.layersB), NumberText.exact(s.layersSaved),
             NumberText.exact(s.layersSavedPercent), NumberText.exact(s.secondsA), NumberText.exact(s.secondsB),
             NumberText.exact(s.timeRatio), NumberText.exact(s.pathA), NumberText.exact(s.pathB)]
        }
        let rows = tasks.map { row(kind: "task", name: $0.task, metric: $0.metric, $0.scores) + ["", "", ""] }
            + suites.map { s in
                row(kind: "suite", name: s.suite, metric: "", s.scores)
                    + [NumberText.exact(s.macroDelta.delta), NumberText.exact(s.macroDelta.lower), NumberText.exact(s.macroDelta.upper)]
            }
        return CSVText.table(header: Self.csvHeader, rows: rows)
    }

    /// `<reportsDir>/<model>/<A>-vs-<B>.md` and `.csv`.
    public func reportFiles(reportsDir: URL) -> (markdown: URL, csv: URL) {
        let folder = reportsDir.appendingPathComponent(model, isDirectory: true)
        return (folder.appendingPathComponent("\(runA)-vs-\(runB).md"), folder.appendingPathComponent("\(runA)-vs-\(runB).csv"))
    }

    /// Writes the Markdown and CSV reports atomically; returns their locations.
    @discardableResult
    public func write(reportsDir: URL) throws(RunError) -> (markdown: URL, csv: URL) {
        let files = reportFiles(reportsDir: reportsDir)
        try FileOperations.ensureWritableFolder(files.markdown.deletingLastPathComponent())
        try FileOperations.writeAtomically(Data(markdown().utf8), to: files.markdown)
        try FileOperations.writeAtomically(Data(csv().utf8), to: files.csv)
        return files
    }
}

/// Per-document series of one task (or pooled tasks) paired across runs A and B.
private struct Series {
    var a: [Double] = [], b: [Double] = []
    var layersA: [Double] = [], layersB: [Double] = []
    var pathA: [Double] = [], pathB: [Double] = []
    var secondsA = 0.0, secondsB = 0.0
    var recordsA: [ExampleRecord] = [], recordsB: [ExampleRecord] = []
    var onlyInA = 0, onlyInB = 0

    init() {}

    /// Pairs documents by id in A's document order; documents without the metric are skipped.
    init(a runA: TaskResults, b runB: TaskResults, metric: String) {
        let byID = Dictionary(runB.records.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let idsA = Set(runA.records.map(\.id))
        onlyInB = runB.records.filter { !idsA.contains($0.id) }.count
        for ra in runA.records {
            guard let rb = byID[ra.id] else { onlyInA += 1; continue }
            guard let va = ra.metrics[metric], let vb = rb.metrics[metric] else { continue }
            a.append(va * runA.summary.pointsScale)
            b.append(vb * runB.summary.pointsScale)
            layersA.append(Double(ra.blockApplications))
            layersB.append(Double(rb.blockApplications))
            pathA.append(Double(ra.path.length))
            pathB.append(Double(rb.path.length))
            secondsA += ra.seconds
            secondsB += rb.seconds
            recordsA.append(ra)
            recordsB.append(rb)
        }
    }

    mutating func append(_ other: Series) {
        a += other.a; b += other.b
        layersA += other.layersA; layersB += other.layersB
        pathA += other.pathA; pathB += other.pathB
        secondsA += other.secondsA; secondsB += other.secondsB
    }

    func scores(resamples: Int, seed: UInt64) -> PairedScores? {
        PairedScores(a: a, b: b, layersA: layersA, layersB: layersB, pathA: pathA, pathB: pathB,
                     secondsA: secondsA, secondsB: secondsB, resamples: resamples, seed: seed)
    }
}

extension SuiteDefinition {
    /// The paper's two domains from the benchmark registry: `indomain` and `ood` (the rows of the
    /// summary tables; `all` would only repeat them).
    public static var paperDomains: [SuiteDefinition] {
        [BenchmarkSuite.indomain, .ood].map { SuiteDefinition(name: $0.rawValue, tasks: BenchmarkRegistry.names(in: $0)) }
    }
}

extension BootstrapInterval {
    /// The interval as report tables print it: `[lower, upper]` with one decimal, signed for Δs.
    public func bracketText(signed: Bool = true) -> String {
        "[\(NumberText.fixed(lower, 1, signed: signed)), \(NumberText.fixed(upper, 1, signed: signed))]"
    }
}
