import Benchmarks
import Foundation
import Reports
import Runs
import Support

/// One arm of the control table on one task: a run of `bench run`, or the oracle.
public struct ControlArm: Sendable, Equatable {
    /// The run's name (`baseline`, `static`, `routed`, …) or `oracle`.
    public var name: String
    /// Documents scored.
    public var n: Int
    /// Accuracy in points with a 95% bootstrap interval of the mean.
    public var accuracy: BootstrapInterval
    /// Accuracy minus the baseline's, paired by document (nil for the baseline itself).
    public var delta: BootstrapInterval?
    /// Mean blocks per token of the path (the default path has `layerCount`).
    public var meanPathLength: Double
}

/// The control table of one task: baseline, static path, routers and oracle on the same documents.
public struct ControlTask: Sendable, Equatable {
    public var task: String
    public var layerCount: Int
    /// In the order asked for, the oracle last.
    public var arms: [ControlArm]
    /// Oracle: wrong defaults made right, of the wrong defaults.
    public var wrongMadeRight: Int
    public var wrongDefaults: Int
    /// Oracle: mean blocks saved by the best path found on documents whose default is already right.
    public var meanSavedWhenRight: Double
    /// Documents where the oracle's own default-path verdict differs from the baseline run's
    /// (0 when search and `bench run` score alike, as they must).
    public var defaultDisagreements: Int

    /// Share of the oracle's headroom over the baseline that the arm named `name` captures:
    /// (arm − baseline) / (oracle − baseline); nil without headroom.
    public func headroomCaptured(by name: String) -> Double? {
        guard let arm = arms.first(where: { $0.name == name }), let baseline = arms.first,
              let oracle = arms.last, oracle.accuracy.delta > baseline.accuracy.delta else { return nil }
        return (arm.accuracy.delta - baseline.accuracy.delta) / (oracle.accuracy.delta - baseline.accuracy.delta)
    }
}

/// The oracle and static control beside the routers (issue: "a reproduction that can tell"):
/// per task, on the documents the oracle searched, each run's accuracy with a bootstrap interval,
/// its paired Δ against the first run (the baseline), its mean path length, and the oracle's
/// accuracy — every document on the best path its search found, which needs the answer and so is
/// an upper bound, never a result.
public struct ControlReport: Sendable, Equatable {
    public var model: String
    public var tasks: [ControlTask]
    public var resamples: Int
    public var seed: UInt64

    /// Builds the table from oracle records (`bench oracle`) and the runs' records. Each task takes
    /// the documents the oracle searched that every run has scored.
    public init(model: String, layerCount: Int, oracle: [SupervisionRecord], runs: [(name: String, results: [String: TaskResults])],
                resamples: Int = PairedBootstrap.defaultResamples, seed: UInt64 = PairedBootstrap.defaultSeed) throws {
        precondition(!runs.isEmpty, "the first run is the baseline")
        self.model = model
        self.resamples = resamples
        self.seed = seed
        var taskOrder: [String] = []
        for r in oracle where !taskOrder.contains(r.task) { taskOrder.append(r.task) }
        var tasks: [ControlTask] = []
        for task in taskOrder {
            let searched = oracle.filter { $0.task == task }
            var byRun: [[String: ExampleRecord]] = []
            for run in runs {
                guard let results = run.results[task] else { throw SupervisionError.missingRunTask(run: run.name, task: task) }
                byRun.append(Dictionary(results.records.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a }))
            }
            let documents = searched.filter { r in byRun.allSatisfy { $0[r.id] != nil } }
            guard !documents.isEmpty else { continue }
            func scores(_ run: Int) -> [Double] { documents.map { 100 * (byRun[run][$0.id]!.metrics["acc,none"] ?? 0) } }
            let baseline = scores(0)
            var arms: [ControlArm] = []
            let zeros = [Double](repeating: 0, count: documents.count)
            for (k, run) in runs.enumerated() {
                let s = scores(k)
                arms.append(ControlArm(
                    name: run.name, n: documents.count,
                    accuracy: PairedBootstrap.interval(a: zeros, b: s, resamples: resamples, seed: seed)!,
                    delta: k == 0 ? nil : PairedBootstrap.interval(a: baseline, b: s, resamples: resamples, seed: seed),
                    meanPathLength: Statistics.mean(documents.map { Double(byRun[k][$0.id]!.path.length) })))
            }
            let oracleScores = documents.map { $0.kept ? 100.0 : 0 }
            arms.append(ControlArm(
                name: "oracle", n: documents.count,
                accuracy: PairedBootstrap.interval(a: zeros, b: oracleScores, resamples: resamples, seed: seed)!,
                delta: PairedBootstrap.interval(a: baseline, b: oracleScores, resamples: resamples, seed: seed),
                meanPathLength: Statistics.mean(documents.map { Double($0.kept ? $0.bestPath!.count : layerCount) })))
            let right = documents.filter(\.defaultCorrect)
            tasks.append(ControlTask(
                task: task, layerCount: layerCount, arms: arms,
                wrongMadeRight: documents.filter(\.improved).count, wrongDefaults: documents.count - right.count,
                meanSavedWhenRight: right.isEmpty ? 0 : Statistics.mean(right.map { Double($0.layersSaved ?? 0) }),
                defaultDisagreements: zip(documents, baseline).filter { ($0.0.defaultCorrect ? 100.0 : 0) != $0.1 }.count))
        }
        guard !tasks.isEmpty else { throw SupervisionError.nothingToControl }
        self.tasks = tasks
    }

    /// The Markdown report: one table row per task and arm, then the oracle's own columns.
    public func markdown(commands: [String]) -> String {
        var out = "# \(model): baseline, static path, routers and the oracle\n\n"
        out += "Same documents in every row of a task (the first test documents the oracle searched). Accuracy in points "
        out += "with a 95% bootstrap interval of the mean; Δ against `\(tasks[0].arms[0].name)` with a paired bootstrap "
        out += "interval (percentile method, \(resamples) resamples, seed \(seed)); path = blocks per token, mean over "
        out += "documents (the default path has \(tasks[0].layerCount)). The **oracle** puts every document on the best path "
        out += "its MCTS search found — the search sees the answer, so it is an upper bound on what routing could reach, "
        out += "never a result.\n\n"
        out += "Commands:\n\n" + commands.map { "    \($0)\n" }.joined() + "\n"
        var table = MarkdownTable(header: ["task", "arm", "n", "accuracy", "95% CI", "Δ (pts)", "95% CI of Δ", "path", "saved %"],
                                  alignments: [.left, .left] + Array(repeating: .right, count: 7), rows: [])
        for t in tasks {
            for arm in t.arms {
                let saved = 100 * (Double(t.layerCount) - arm.meanPathLength) / Double(t.layerCount)
                table.rows.append([t.task, arm.name, String(arm.n), NumberText.fixed(arm.accuracy.delta, 1), arm.accuracy.bracketText(signed: false),
                                   arm.delta.map { NumberText.fixed($0.delta, 1, signed: true) } ?? "—",
                                   arm.delta.map { $0.bracketText() } ?? "—",
                                   NumberText.fixed(arm.meanPathLength, 2), NumberText.fixed(saved, 1, signed: true)])
            }
        }
        out += table.render()
        out += "\n### The oracle's search\n\n"
        var oracleTable = MarkdownTable(
            header: ["task", "n", "default right", "wrong defaults made right", "share", "mean blocks saved where the default is right",
                     "default verdicts differing from the baseline run"],
            alignments: [.left] + Array(repeating: .right, count: 6), rows: [])
        for t in tasks {
            let n = t.arms[0].n
            oracleTable.rows.append([t.task, String(n), String(n - t.wrongDefaults),
                                     "\(t.wrongMadeRight)/\(t.wrongDefaults)",
                                     t.wrongDefaults == 0 ? "—" : NumberText.fixed(100 * Double(t.wrongMadeRight) / Double(t.wrongDefaults), 1) + "%",
                                     NumberText.fixed(t.meanSavedWhenRight, 2), String(t.defaultDisagreements)])
        }
        out += oracleTable.render()
        let others = tasks[0].arms.dropFirst().dropLast().map(\.name)
        if !others.isEmpty {
            out += "\nShare of the oracle's headroom over the baseline each arm captures ((arm − baseline) / (oracle − baseline)): "
            out += tasks.map { t in
                "\(t.task): " + others.map { name in "\(name) " + (t.headroomCaptured(by: name).map { NumberText.fixed(100 * $0, 1) + "%" } ?? "—") }
                    .joined(separator: ", ")
            }.joined(separator: "; ") + ".\n"
        }
        return out
    }

    /// Every number at full precision, one row per task and arm.
    public func csv() -> String {
        let header = ["model", "task", "arm", "n", "accuracy", "accuracy_lower", "accuracy_upper", "delta", "delta_lower", "delta_upper",
                      "mean_path_length", "layer_count", "oracle_wrong_made_right", "oracle_wrong_defaults", "oracle_mean_saved_when_right",
                      "oracle_default_disagreements"]
        var rows: [[String]] = []
        for t in tasks {
            for arm in t.arms {
                rows.append([model, t.task, arm.name, String(arm.n), NumberText.exact(arm.accuracy.delta), NumberText.exact(arm.accuracy.lower),
                             NumberText.exact(arm.accuracy.upper), NumberText.exact(arm.delta?.delta), NumberText.exact(arm.delta?.lower),
                             NumberText.exact(arm.delta?.upper), NumberText.exact(arm.meanPathLength), String(t.layerCount),
                             String(t.wrongMadeRight), String(t.wrongDefaults), NumberText.exact(t.meanSavedWhenRight),
                             String(t.defaultDisagreements)])
            }
        }
        return CSVText.table(header: header, rows: rows)
    }

    /// Grouped bars: per task, each arm's accuracy with its interval.
    public func svg() -> String {
        let names = tasks[0].arms.map(\.name)
        let series = names.enumerated().map { ChartSeries(name: $0.element, color: Charts.palette[$0.offset % Charts.palette.count]) }
        let values: [[IntervalValue?]] = tasks.map { t in
            names.map { name in
                t.arms.first { $0.name == name }.map { IntervalValue($0.accuracy.delta, lower: $0.accuracy.lower, upper: $0.accuracy.upper) }
            }
        }
        return Charts.groupedBarsSVG(title: "\(model): baseline, static path, routers, oracle",
                                     subtitle: "accuracy in points on the same test documents, bars = 95% bootstrap CI; oracle = upper bound",
                                     groups: tasks.map { "\($0.task) (n=\($0.arms[0].n))" }, series: series, values: values)
    }

    /// Writes `<reportsDir>/<model>/control.md`, `.csv` and `.svg`; returns the Markdown file.
    @discardableResult
    public func write(reportsDir: URL, commands: [String]) throws -> URL {
        let folder = reportsDir.appendingPathComponent(model, isDirectory: true)
        try FileOperations.ensureWritableFolder(folder)
        let markdownFile = folder.appendingPathComponent("control.md")
        try FileOperations.writeAtomically(Data(markdown(commands: commands).utf8), to: markdownFile)
        try FileOperations.writeAtomically(Data(csv().utf8), to: folder.appendingPathComponent("control.csv"))
        try FileOperations.writeAtomically(Data(svg().utf8), to: folder.appendingPathComponent("control.svg"))
        return markdownFile
    }
}
