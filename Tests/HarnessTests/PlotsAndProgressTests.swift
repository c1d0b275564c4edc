import Benchmarks
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Reports
import Runs
import Supervision
import Support
import XCTest

/// Collects what an `XMLParser` sees, to check that SVG output is well-formed XML.
private final class ElementCounter: NSObject, XMLParserDelegate {
    var counts: [String: Int] = [:]
    var texts: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        counts[name, default: 0] += 1
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
}

final class PlotsTests: XCTestCase {
    private func comparison() throws -> Comparison {
        let root = try makeTemporaryFolder(self)
        let store = ResultsStore(root: root)
        for (task, run, correct) in [("arc<&>", "baseline", 6), ("arc<&>", "routed", 7), ("piqa", "baseline", 3), ("piqa", "routed", 3)] {
            let config = sampleConfiguration(task: task, run: run)
            let records = (0..<10).map { i in
                sampleRecord(index: i, correct: i < correct, path: run == "routed" ? (i < 4 ? [0, 1, 3] : [0, 0, 1, 2, 3]) : [0, 1, 2, 3])
            }
            let log = try store.openTask(configuration: config)
            for r in records { try log.append(r) }
            log.close()
            try store.writeSummary(sampleSummary(config, records))
        }
        return try Comparison.load(resultsDir: root, model: "tiny", resamples: 500)
    }

    private func parse(_ svg: String) throws -> ElementCounter {
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = ElementCounter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "SVG is not well-formed: \(String(describing: parser.parserError))")
        return counter
    }

    func testAccuracyPlotHasTwoBarsPerTaskWithErrorBarsAndEscapedNames() throws {
        let c = try comparison()
        let svg = Plots.accuracySVG(c)
        let parsed = try parse(svg)
        XCTAssertEqual(parsed.counts["svg"], 1)
        // Background + 2 bars per task + 2 legend swatches.
        XCTAssertEqual(parsed.counts["rect"], 1 + 2 * 2 + 2)
        XCTAssertTrue(svg.contains("arc&lt;&amp;&gt;"))
        XCTAssertTrue(parsed.texts.contains("Δ +10.0"))
        XCTAssertEqual(svg, Plots.accuracySVG(c), "deterministic")
    }

    func testLayerUsageHeatmapSplitsCellsBySkipExecuteRepeat() throws {
        let c = try comparison()
        let columns = c.tasks.map { LayerUsageColumn(task: $0.task, usage: $0.layerUsageB) }
        let svg = Plots.layerUsageSVG(title: "routed", columns: columns)
        let parsed = try parse(svg)
        XCTAssertTrue(parsed.texts.contains("L3"))
        // Block 0: repeated by 6 of 10 documents in routed → 60% green share.
        XCTAssertTrue(svg.contains("L0: skip 0.0%, execute 40.0%, repeat 60.0%"), svg)
        XCTAssertTrue(svg.contains("L2: skip 40.0%, execute 60.0%, repeat 0.0%"), svg)
    }

    func testWriteCreatesFilesUnderTheModel() throws {
        let c = try comparison()
        let reports = try makeTemporaryFolder(self)
        let files = try Plots.write(c, reportsDir: reports)
        XCTAssertEqual(files.map(\.lastPathComponent),
                       ["baseline-vs-routed-accuracy.svg", "baseline-vs-routed-baseline-layer-usage.svg",
                        "baseline-vs-routed-routed-layer-usage.svg"])
        for f in files { _ = try parse(try String(contentsOf: f, encoding: .utf8)) }
    }
}

final class ProgressReporterTests: XCTestCase {
    /// A clock the test moves by hand and a sink that keeps the output.
    private final class Clock {
        var time = 100.0
        var output = ""
    }

    func testPlainLinesEveryIntervalWithRateAndETA() {
        let h = Clock()
        var p = ProgressReporter(label: "arc_easy", total: 10, alreadyDone: 2, style: .lines, interval: 5,
                                 now: { h.time }, write: { h.output += $0 })
        XCTAssertEqual(h.output, "arc_easy: starting, 2/10 already done\n")
        h.time += 1
        p.advance()                       // 1 s: too early for a line
        XCTAssertEqual(h.output.split(separator: "\n").count, 1)
        h.time += 4
        p.advance()                       // 5 s, 2 done this session: 0.4/s, 6 left → 15 s
        XCTAssertEqual(h.output.split(separator: "\n").last, "arc_easy: 4/10 (40%)  0.40/s  ETA 0:15")
        h.time += 5
        p.advance(by: 6)
        p.finish()
        XCTAssertEqual(h.output.split(separator: "\n").last, "arc_easy: 10/10 done in 0:10, 0.80/s")
    }

    func testBarRedrawsInPlace() {
        let h = Clock()
        var p = ProgressReporter(label: "t", total: 4, style: .bar, interval: 0, now: { h.time }, write: { h.output += $0 })
        h.time += 2
        p.advance(by: 2)
        XCTAssertTrue(h.output.hasSuffix("\rt [############............] 2/4 (50%)  1.00/s  ETA 0:02\u{1B}[K"), h.output)
        p.finish()
        XCTAssertTrue(h.output.hasSuffix("\n"))
        XCTAssertEqual(ProgressReporter.duration(3725), "1:02:05")
        XCTAssertEqual(ProgressReporter.bar(done: 0, total: 0, width: 4), "[####]")
    }

    func testScoreTableShowsPointsAndLayers() {
        let config = sampleConfiguration()
        let summary = sampleSummary(config, (0..<4).map { sampleRecord(index: $0, correct: $0 < 3) }, documents: 5)
        let table = ScoreTable.markdown([summary])
        XCTAssertTrue(table.contains("| toy | baseline | acc,none | 75.0 | 25.0 | 4 | 16.0 | 4/5 |"), table)
    }
}
