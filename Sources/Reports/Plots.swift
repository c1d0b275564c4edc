import Foundation
import Runs
import Support

/// One column of a layer-usage heatmap: a task and its per-block shares.
public struct LayerUsageColumn: Hashable, Sendable {
    public var task: String
    public var usage: [LayerUsage]

    public init(task: String, usage: [LayerUsage]) {
        self.task = task
        self.usage = usage
    }
}

/// SVG figures in the style of the paper: per-task scores with confidence bars, and a layer ×
/// task heatmap of skip / execute / repeat shares.
///
/// Plain SVG 1.1 with no scripts, fonts by generic family, numbers with fixed decimals, so the
/// same data always gives the same bytes (the files live in git next to the README).
public enum Plots {
    static let colorA = "#9e9e9e"
    static let colorB = "#1f77b4"
    static let colorSkip = "#d62728"
    static let colorExecute = "#e8e8e8"
    static let colorRepeat = "#2ca02c"

    /// Grouped bars: per task, run A's and run B's score in points with 95% bars
    /// (score ± 1.96 · standard error, clipped to the axis).
    public static func accuracySVG(_ comparison: Comparison) -> String {
        let tasks = comparison.tasks
        let groupWidth = 84.0, barWidth = 28.0
        let left = 60.0, right = 20.0, top = 64.0, plotHeight = 260.0, bottom = 110.0
        let width = left + right + max(1, Double(tasks.count)) * groupWidth
        let height = top + plotHeight + bottom
        // Scores are points: 0–100, except metrics on another scale that exceed it.
        var highest = 0.0
        for t in tasks {
            let a: Double = t.scores.scoreA + 1.96 * (t.scores.stderrA ?? 0)
            let b: Double = t.scores.scoreB + 1.96 * (t.scores.stderrB ?? 0)
            highest = max(highest, a, b)
        }
        let yMax = max(100, (highest / 10).rounded(.up) * 10)
        func y(_ v: Double) -> Double { top + plotHeight * (1 - min(max(v, 0), yMax) / yMax) }

        var svg = header(width: width, height: height)
        svg += text(x: width / 2, y: 22, "\(comparison.model): \(comparison.runA) vs \(comparison.runB)",
                    size: 15, anchor: "middle", weight: "bold")
        svg += text(x: width / 2, y: 38, "score in points per task, bars = 95% CI (±1.96 SE)", size: 11, anchor: "middle")
        // Axis and grid.
        var tick = 0.0
        while tick <= yMax + 1e-9 {
            svg += line(x1: left, y1: y(tick), x2: width - right, y2: y(tick), color: "#dddddd")
            svg += text(x: left - 6, y: y(tick) + 4, fmt(tick, 0), size: 10, anchor: "end")
            tick += yMax > 100 ? 20 : 10
        }
        svg += line(x1: left, y1: top, x2: left, y2: top + plotHeight, color: "#333333")
        svg += line(x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, color: "#333333")
        svg += "<text x=\"16\" y=\"\(fmt(top + plotHeight / 2, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
            + "text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(top + plotHeight / 2, 1)))\">points</text>\n"

        for (i, t) in tasks.enumerated() {
            let x0 = left + Double(i) * groupWidth + (groupWidth - 2 * barWidth) / 2
            let bars = [(t.scores.scoreA, t.scores.stderrA, colorA, comparison.runA),
                        (t.scores.scoreB, t.scores.stderrB, colorB, comparison.runB)]
            for (j, bar) in bars.enumerated() {
                let x = x0 + Double(j) * barWidth
                let (score, stderr, color, run) = bar
                svg += "<rect x=\"\(fmt(x, 1))\" y=\"\(fmt(y(score), 1))\" width=\"\(fmt(barWidth - 2, 1))\" "
                    + "height=\"\(fmt(top + plotHeight - y(score), 1))\" fill=\"\(color)\">"
                    + "<title>\(escape(t.task)) \(escape(run)): \(fmt(score, 1))</title></rect>\n"
                if let se = stderr, se > 0 {
                    let cx = x + (barWidth - 2) / 2
                    let lo = y(score - 1.96 * se), hi = y(score + 1.96 * se)
                    svg += line(x1: cx, y1: lo, x2: cx, y2: hi, color: "#000000")
                    svg += line(x1: cx - 5, y1: lo, x2: cx + 5, y2: lo, color: "#000000")
                    svg += line(x1: cx - 5, y1: hi, x2: cx + 5, y2: hi, color: "#000000")
                }
            }
            let d = t.scores.delta
            svg += text(x: x0 + barWidth, y: top - 8, "Δ \(NumberText.fixed(d.delta, 1, signed: true))", size: 10, anchor: "middle")
            let lx = x0 + barWidth, ly = top + plotHeight + 14
            svg += "<text x=\"\(fmt(lx, 1))\" y=\"\(fmt(ly, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
                + "text-anchor=\"end\" transform=\"rotate(-35 \(fmt(lx, 1)) \(fmt(ly, 1)))\">\(escape(t.task))</text>\n"
        }
        // Legend.
        let ly = height - 18
        svg += "<rect x=\"\(fmt(left, 1))\" y=\"\(fmt(ly - 10, 1))\" width=\"12\" height=\"12\" fill=\"\(colorA)\"/>\n"
        svg += text(x: left + 16, y: ly, comparison.runA, size: 11, anchor: "start")
        svg += "<rect x=\"\(fmt(left + 110, 1))\" y=\"\(fmt(ly - 10, 1))\" width=\"12\" height=\"12\" fill=\"\(colorB)\"/>\n"
        svg += text(x: left + 126, y: ly, comparison.runB, size: 11, anchor: "start")
        return svg + "</svg>\n"
    }

    /// Layer × task heatmap: one row per block, one column per task; each cell is split left to
    /// right into the shares of documents that skipped (red), executed (grey) and repeated
    /// (green) that block.
    public static func layerUsageSVG(title: String, columns: [LayerUsageColumn]) -> String {
        let layers = columns.map(\.usage.count).max() ?? 0
        // The gap keeps columns apart where every document executed the block (all grey).
        let cellWidth = 64.0, cellHeight = 14.0, cellGap = 6.0
        let left = 56.0, right = 20.0, top = 50.0, bottom = 120.0
        let width = left + right + max(1, Double(columns.count)) * cellWidth
        let height = top + Double(layers) * cellHeight + bottom
        var svg = header(width: width, height: height)
        svg += text(x: width / 2, y: 22, title, size: 15, anchor: "middle", weight: "bold")
        svg += text(x: width / 2, y: 38, "share of documents per block: skip | execute | repeat", size: 11, anchor: "middle")
        for layer in 0..<layers {
            let y = top + Double(layer) * cellHeight
            svg += text(x: left - 6, y: y + cellHeight - 3, "L\(layer)", size: 10, anchor: "end")
            for (c, column) in columns.enumerated() {
                let x = left + Double(c) * cellWidth
                guard layer < column.usage.count else { continue }
                let u = column.usage[layer]
                var offset = 0.0
                for (share, color) in [(u.skip, colorSkip), (u.execute, colorExecute), (u.repeat, colorRepeat)] where share > 0 {
                    let w = (cellWidth - cellGap) * share
                    svg += "<rect x=\"\(fmt(x + offset, 2))\" y=\"\(fmt(y, 1))\" width=\"\(fmt(w, 2))\" "
                        + "height=\"\(fmt(cellHeight - 1, 1))\" fill=\"\(color)\"/>\n"
                    offset += w
                }
                svg += "<rect x=\"\(fmt(x, 1))\" y=\"\(fmt(y, 1))\" width=\"\(fmt(cellWidth - cellGap, 1))\" "
                    + "height=\"\(fmt(cellHeight - 1, 1))\" fill=\"none\" stroke=\"#bbbbbb\" stroke-width=\"0.5\">"
                    + "<title>\(escape(column.task)) L\(layer): skip \(fmt(100 * u.skip, 1))%, execute "
                    + "\(fmt(100 * u.execute, 1))%, repeat \(fmt(100 * u.repeat, 1))%</title></rect>\n"
            }
        }
        let labelY = top + Double(layers) * cellHeight + 12
        for (c, column) in columns.enumerated() {
            let lx = left + Double(c) * cellWidth + cellWidth / 2
            svg += "<text x=\"\(fmt(lx, 1))\" y=\"\(fmt(labelY, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
                + "text-anchor=\"end\" transform=\"rotate(-35 \(fmt(lx, 1)) \(fmt(labelY, 1)))\">\(escape(column.task))</text>\n"
        }
        let ly = height - 18
        var lx = left
        for (name, color) in [("skip", colorSkip), ("execute", colorExecute), ("repeat", colorRepeat)] {
            svg += "<rect x=\"\(fmt(lx, 1))\" y=\"\(fmt(ly - 10, 1))\" width=\"12\" height=\"12\" fill=\"\(color)\" stroke=\"#999999\" stroke-width=\"0.5\"/>\n"
            svg += text(x: lx + 16, y: ly, name, size: 11, anchor: "start")
            lx += 80
        }
        return svg + "</svg>\n"
    }

    /// Writes `<A>-vs-<B>-accuracy.svg` and one `<A>-vs-<B>-<run>-layer-usage.svg` per run under
    /// `<reportsDir>/<model>/`; returns the files written. The heatmaps cover the documents both
    /// runs scored, so they are named by the comparison: comparing the baseline with another run
    /// must not overwrite its heatmap from this one.
    @discardableResult
    public static func write(_ comparison: Comparison, reportsDir: URL) throws(RunError) -> [URL] {
        let folder = reportsDir.appendingPathComponent(comparison.model, isDirectory: true)
        try FileOperations.ensureWritableFolder(folder)
        let accuracy = folder.appendingPathComponent("\(comparison.runA)-vs-\(comparison.runB)-accuracy.svg")
        try FileOperations.writeAtomically(Data(accuracySVG(comparison).utf8), to: accuracy)
        var files = [accuracy]
        for (run, keyPath) in [(comparison.runA, \TaskComparison.layerUsageA), (comparison.runB, \TaskComparison.layerUsageB)] {
            let url = folder.appendingPathComponent("\(comparison.runA)-vs-\(comparison.runB)-\(run)-layer-usage.svg")
            let columns = comparison.tasks.map { LayerUsageColumn(task: $0.task, usage: $0[keyPath: keyPath]) }
            try FileOperations.writeAtomically(Data(layerUsageSVG(title: "\(comparison.model) · \(run): layer usage",
                                                                  columns: columns).utf8), to: url)
            files.append(url)
        }
        return files
    }

    // MARK: SVG helpers

    static func header(width: Double, height: Double) -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(fmt(width, 0))\" height=\"\(fmt(height, 0))\" "
            + "viewBox=\"0 0 \(fmt(width, 0)) \(fmt(height, 0))\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
    }

    static func text(x: Double, y: Double, _ s: String, size: Int, anchor: String, weight: String = "normal") -> String {
        "<text x=\"\(fmt(x, 1))\" y=\"\(fmt(y, 1))\" font-family=\"sans-serif\" font-size=\"\(size)\" "
            + "font-weight=\"\(weight)\" text-anchor=\"\(anchor)\">\(escape(s))</text>\n"
    }

    static func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String) -> String {
        "<line x1=\"\(fmt(x1, 1))\" y1=\"\(fmt(y1, 1))\" x2=\"\(fmt(x2, 1))\" y2=\"\(fmt(y2, 1))\" stroke=\"\(color)\" stroke-width=\"1\"/>\n"
    }

    static func fmt(_ x: Double, _ decimals: Int) -> String { NumberText.fixed(x, decimals) }

    /// XML-escapes text and attribute values.
    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
