import Foundation
import Runs
import Support

/// One run on its own (no second run to compare with): every task's metrics with standard errors,
/// documents scored, layers and model time — what `bench report --run NAME` writes to
/// `<reports>/<model>/<run>.md` and `.csv`, for a configuration measured before its counterpart
/// exists (a new model's baseline).
public struct RunReport: Sendable {
    public var model: String
    public var run: String
    public var summaries: [TaskSummary]

    /// Loads the run's summaries (tasks in registry suite order, then by name).
    public static func load(resultsDir: URL, model: String, run: String, taskOrder: [String]) throws -> RunReport {
        let store = ResultsStore(root: resultsDir)
        let tasks = try store.tasks(model: model, run: run).sorted {
            (taskOrder.firstIndex(of: $0) ?? Int.max, $0) < (taskOrder.firstIndex(of: $1) ?? Int.max, $1)
        }
        guard !tasks.isEmpty else { throw RunError.missingRun(folder: store.runFolder(model: model, run: run).path) }
        return RunReport(model: model, run: run, summaries: try tasks.map { try store.loadSummary(model: model, run: run, task: $0) })
    }

    var header: [String] { ["task", "metric", "score", "± stderr", "n", "documents", "blocks/doc", "blocks/token", "time"] }

    func cells(_ s: TaskSummary, exact: Bool) -> [String] {
        let m = s.metrics[s.primaryMetric]
        let number: (Double?, Int) -> String = exact ? { x, _ in NumberText.exact(x) } : { x, d in NumberText.fixed(x, d) }
        let selection = s.configuration.limit.map { "first \($0)" } ?? "all"
        return [s.task, s.primaryMetric, number(m.map { $0.value * s.pointsScale }, 1),
                number(m?.stderr.map { $0 * s.pointsScale }, 1), s.complete ? "\(s.n)" : "\(s.n) of \(s.documents)", selection,
                number(s.layers.meanBlockApplications, 1), number(s.layers.meanPathLength, 2),
                exact ? NumberText.exact(s.timing.seconds) : NumberText.duration(s.timing.seconds)]
    }

    /// The `bench run` command that reproduces the run, from its tasks' configurations.
    public var command: String {
        guard let c = summaries.first?.configuration else { return "" }
        var parts = ["bench run --model \(model) --tasks \(summaries.map(\.task).joined(separator: ","))"]
        switch c.policy {
        case .full: parts.append("--config baseline")
        case .routers: parts.append("--config routed --router \(c.routerFile ?? "?")" + (run == "routed" ? "" : " --name \(run)"))
        case .fixed: parts.append("--path \((c.fixedPath ?? []).map(String.init).joined(separator: ",")) --name \(run)")
        }
        let limits = Set(summaries.map { $0.configuration.limit })
        if limits.count == 1, let limit = limits.first ?? nil { parts.append("--limit \(limit)") }
        parts.append("--seed \(c.seed)")
        return parts.joined(separator: " ")
    }

    /// The Markdown report, with the command that reproduces the run.
    public func markdown(command: String) -> String {
        var table = MarkdownTable(header: header, alignments: [.left, .left] + Array(repeating: .right, count: 7))
        table.rows = summaries.map { cells($0, exact: false) }
        return "## \(model): run `\(run)`\n\n" + table.render()
            + "\nScore and standard error in points; n = documents scored (\"k of m\" while unfinished); documents = which "
            + "documents the run covers (first N of each task, of each subject/subset for groups); blocks/doc = block applications per document "
            + "over all forward passes; blocks/token = the layer path's length; time = summed model time of the records.\n\n"
            + "Reproduce:\n\n```sh\n\(command)\n```\n"
    }

    /// The same as CSV, numbers at full precision.
    public func csv() -> String {
        CSVText.table(header: header, rows: summaries.map { cells($0, exact: true) })
    }

    /// Writes `<reports>/<model>/<run>.md` and `.csv`.
    public func write(reportsDir: URL, command: String) throws -> [URL] {
        let folder = reportsDir.appendingPathComponent(model, isDirectory: true)
        try FileOperations.ensureWritableFolder(folder)
        let md = folder.appendingPathComponent("\(run).md"), csvFile = folder.appendingPathComponent("\(run).csv")
        try FileOperations.writeAtomically(Data(markdown(command: command).utf8), to: md)
        try FileOperations.writeAtomically(Data(csv().utf8), to: csvFile)
        return [md, csvFile]
    }
}
