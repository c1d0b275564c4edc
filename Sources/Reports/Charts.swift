import Foundation
import Support

/// A value drawn with its interval (e.g. a score in points and its 95% bootstrap interval).
public struct IntervalValue: Hashable, Sendable {
    public var value: Double
    public var lower: Double?
    public var upper: Double?

    public init(_ value: Double, lower: Double? = nil, upper: Double? = nil) {
        self.value = value
        self.lower = lower
        self.upper = upper
    }
}

/// One named, coloured series of a chart.
public struct ChartSeries: Hashable, Sendable {
    public var name: String
    /// SVG colour, e.g. `#1f77b4`.
    public var color: String
    /// Dashed line (line charts only).
    public var dashed: Bool

    public init(name: String, color: String, dashed: Bool = false) {
        self.name = name
        self.color = color
        self.dashed = dashed
    }
}

/// General SVG charts beside `Plots`' comparison figures, in the same deterministic style (same
/// data, same bytes): grouped bars with interval whiskers, and line charts.
public enum Charts {
    /// Colours for up to six series, in order.
    public static let palette = ["#9e9e9e", "#ff7f0e", "#1f77b4", "#2ca02c", "#d62728", "#9467bd"]

    /// Grouped bars on a 0–100 axis: one group per label, one bar per series (`values[group][series]`,
    /// nil leaves a gap), whiskers from `lower` to `upper` where given.
    public static func groupedBarsSVG(title: String, subtitle: String, groups: [String], series: [ChartSeries],
                                      values: [[IntervalValue?]], axisLabel: String = "points") -> String {
        precondition(values.count == groups.count, "one row of values per group")
        let barWidth = 22.0, groupWidth = max(84.0, Double(series.count) * barWidth + 24)
        let left = 60.0, right = 20.0, top = 64.0, plotHeight = 260.0, bottom = 110.0
        let width = max(left + right + max(1, Double(groups.count)) * groupWidth, 140 + 120 * Double(series.count))
        let height = top + plotHeight + bottom
        let yMax = 100.0
        func y(_ v: Double) -> Double { top + plotHeight * (1 - min(max(v, 0), yMax) / yMax) }
        let fmt = Plots.fmt

        var svg = Plots.header(width: width, height: height)
        svg += Plots.text(x: width / 2, y: 22, title, size: 15, anchor: "middle", weight: "bold")
        svg += Plots.text(x: width / 2, y: 38, subtitle, size: 11, anchor: "middle")
        for tick in stride(from: 0.0, through: yMax, by: 10) {
            svg += Plots.line(x1: left, y1: y(tick), x2: width - right, y2: y(tick), color: "#dddddd")
            svg += Plots.text(x: left - 6, y: y(tick) + 4, fmt(tick, 0), size: 10, anchor: "end")
        }
        svg += Plots.line(x1: left, y1: top, x2: left, y2: top + plotHeight, color: "#333333")
        svg += Plots.line(x1: left, y1: top + plotHeight, x2: width - right, y2: top + plotHeight, color: "#333333")
        svg += "<text x=\"16\" y=\"\(fmt(top + plotHeight / 2, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
            + "text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(top + plotHeight / 2, 1)))\">\(Plots.escape(axisLabel))</text>\n"
        for (g, group) in groups.enumerated() {
            let x0 = left + Double(g) * groupWidth + (groupWidth - Double(series.count) * barWidth) / 2
            for (k, s) in series.enumerated() {
                guard k < values[g].count, let v = values[g][k] else { continue }
                let x = x0 + Double(k) * barWidth
                svg += "<rect x=\"\(fmt(x, 1))\" y=\"\(fmt(y(v.value), 1))\" width=\"\(fmt(barWidth - 2, 1))\" "
                    + "height=\"\(fmt(top + plotHeight - y(v.value), 1))\" fill=\"\(s.color)\">"
                    + "<title>\(Plots.escape(group)) \(Plots.escape(s.name)): \(fmt(v.value, 1))</title></rect>\n"
                if let lo = v.lower, let hi = v.upper {
                    let cx = x + (barWidth - 2) / 2
                    svg += Plots.line(x1: cx, y1: y(lo), x2: cx, y2: y(hi), color: "#000000")
                    svg += Plots.line(x1: cx - 4, y1: y(lo), x2: cx + 4, y2: y(lo), color: "#000000")
                    svg += Plots.line(x1: cx - 4, y1: y(hi), x2: cx + 4, y2: y(hi), color: "#000000")
                }
            }
            let lx = x0 + Double(series.count) * barWidth / 2, ly = top + plotHeight + 14
            svg += "<text x=\"\(fmt(lx, 1))\" y=\"\(fmt(ly, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
                + "text-anchor=\"end\" transform=\"rotate(-35 \(fmt(lx, 1)) \(fmt(ly, 1)))\">\(Plots.escape(group))</text>\n"
        }
        svg += legend(series, x: left, y: height - 18)
        return svg + "</svg>\n"
    }

    /// Line chart of `points[series]` (x, y pairs), axes fitted to the data (y from 0 unless
    /// `yRange` is given), with a legend.
    public static func lineChartSVG(title: String, subtitle: String, xLabel: String, yLabel: String,
                                    series: [ChartSeries], points: [[(x: Double, y: Double)]],
                                    yRange: ClosedRange<Double>? = nil) -> String {
        precondition(points.count == series.count, "one list of points per series")
        let left = 64.0, right = 24.0, top = 64.0, plotWidth = 520.0, plotHeight = 260.0, bottom = 70.0
        let width = left + plotWidth + right, height = top + plotHeight + bottom
        let all = points.flatMap { $0 }
        let xMin = all.map(\.x).min() ?? 0, xMax = max(all.map(\.x).max() ?? 1, xMin + 1)
        let yLow = yRange?.lowerBound ?? 0
        let yHigh = yRange?.upperBound ?? max(niceCeiling(all.map(\.y).max() ?? 1), yLow + 1e-9)
        func px(_ v: Double) -> Double { left + plotWidth * (v - xMin) / (xMax - xMin) }
        func py(_ v: Double) -> Double { top + plotHeight * (1 - (min(max(v, yLow), yHigh) - yLow) / (yHigh - yLow)) }
        let fmt = Plots.fmt

        var svg = Plots.header(width: width, height: height)
        svg += Plots.text(x: width / 2, y: 22, title, size: 15, anchor: "middle", weight: "bold")
        svg += Plots.text(x: width / 2, y: 38, subtitle, size: 11, anchor: "middle")
        for i in 0...5 {
            let v = yLow + (yHigh - yLow) * Double(i) / 5
            svg += Plots.line(x1: left, y1: py(v), x2: left + plotWidth, y2: py(v), color: "#dddddd")
            svg += Plots.text(x: left - 6, y: py(v) + 4, fmt(v, yHigh - yLow < 5 ? 2 : 0), size: 10, anchor: "end")
        }
        let xStep = max(1, ((xMax - xMin) / 10).rounded(.up))
        for v in stride(from: xMin, through: xMax, by: xStep) {
            svg += Plots.text(x: px(v), y: top + plotHeight + 16, fmt(v, 0), size: 10, anchor: "middle")
        }
        svg += Plots.line(x1: left, y1: top, x2: left, y2: top + plotHeight, color: "#333333")
        svg += Plots.line(x1: left, y1: top + plotHeight, x2: left + plotWidth, y2: top + plotHeight, color: "#333333")
        svg += Plots.text(x: left + plotWidth / 2, y: top + plotHeight + 34, xLabel, size: 11, anchor: "middle")
        svg += "<text x=\"16\" y=\"\(fmt(top + plotHeight / 2, 1))\" font-family=\"sans-serif\" font-size=\"11\" "
            + "text-anchor=\"middle\" transform=\"rotate(-90 16 \(fmt(top + plotHeight / 2, 1)))\">\(Plots.escape(yLabel))</text>\n"
        for (s, line) in zip(series, points) where !line.isEmpty {
            let coordinates = line.map { "\(fmt(px($0.x), 1)),\(fmt(py($0.y), 1))" }.joined(separator: " ")
            svg += "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"2\""
                + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "><title>\(Plots.escape(s.name))</title></polyline>\n"
        }
        svg += legend(series, x: left, y: height - 14)
        return svg + "</svg>\n"
    }

    /// The smallest of 1, 2, 5 × 10^k at or above `v` (a tidy axis end).
    static func niceCeiling(_ v: Double) -> Double {
        guard v > 0 else { return 1 }
        let magnitude = pow(10, (log10(v)).rounded(.down))
        for step in [1.0, 2, 5, 10] where step * magnitude >= v { return step * magnitude }
        return 10 * magnitude
    }

    static func legend(_ series: [ChartSeries], x: Double, y: Double) -> String {
        var svg = ""
        for (k, s) in series.enumerated() {
            let lx = x + Double(k) * 120
            svg += "<rect x=\"\(Plots.fmt(lx, 1))\" y=\"\(Plots.fmt(y - 10, 1))\" width=\"12\" height=\"12\" fill=\"\(s.color)\"/>\n"
            svg += Plots.text(x: lx + 16, y: y, s.name, size: 11, anchor: "start")
        }
        return svg
    }
}
