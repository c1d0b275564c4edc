import Benchmarks
import Engine
import Foundation

/// A metric aggregated over documents, as stored in `<task>.json`.
public struct MetricValue: Codable, Hashable, Sendable {
    /// The aggregate (the mean over documents unless the benchmark aggregates otherwise).
    public var value: Double
    /// Standard error of `value` (`sample_std(ddof=1)/sqrt(n)` for means, lm-eval's pooled
    /// formula for groups); nil where lm-eval reports "N/A".
    public var stderr: Double?
    /// Documents aggregated.
    public var n: Int

    public init(value: Double, stderr: Double?, n: Int) {
        self.value = value
        self.stderr = stderr
        self.n = n
    }
}

/// The aggregate of a group or subtask (`mmlu_stem`, `mmlu_anatomy`, `agieval_lsat_ar`).
public struct AggregateSummary: Codable, Hashable, Sendable {
    public var name: String
    public var metrics: [String: MetricValue]
    /// Subtasks or subgroups beneath this one (nil when none).
    public var children: [AggregateSummary]?

    /// Converts the benchmark module's aggregate.
    public init(_ aggregate: BenchmarkAggregate) {
        name = aggregate.name
        metrics = MetricValue.table(aggregate.metrics)
        children = aggregate.children.isEmpty ? nil : aggregate.children.map(AggregateSummary.init)
    }
}

extension MetricValue {
    /// Keyed by metric (`acc,none`).
    static func table(_ metrics: [Benchmarks.MetricSummary]) -> [String: MetricValue] {
        var out: [String: MetricValue] = [:]
        for m in metrics { out[m.key] = MetricValue(value: m.value, stderr: m.standardError, n: m.count) }
        return out
    }
}

/// Share of documents that skipped, executed once, or repeated one block.
public struct LayerUsage: Codable, Hashable, Sendable {
    public var skip: Double
    public var execute: Double
    public var `repeat`: Double

    public init(skip: Double, execute: Double, repeat: Double) {
        self.skip = skip
        self.execute = execute
        self.repeat = `repeat`
    }

    /// Per-block shares over the documents' paths (each record's `path.blocks`).
    public static func perLayer(_ records: [ExampleRecord], layerCount: Int) -> [LayerUsage] {
        guard layerCount > 0 else { return [] }
        var counts = [[Int]](repeating: [0, 0, 0], count: layerCount)
        for r in records {
            let m = LayerPath(r.path.blocks).multiplicities(layerCount: layerCount)
            for (layer, k) in m.enumerated() { counts[layer][min(k, 2)] += 1 }
        }
        let n = Double(records.count)
        return counts.map { c in
            n == 0 ? LayerUsage(skip: 0, execute: 0, repeat: 0)
                   : LayerUsage(skip: Double(c[0]) / n, execute: Double(c[1]) / n, repeat: Double(c[2]) / n)
        }
    }
}

/// Layer statistics of a task: what the paper calls "layers" is `meanBlockApplications`.
public struct LayerStatistics: Codable, Hashable, Sendable {
    /// Mean block applications per document over all its forward passes (docs/METHOD.md §4).
    public var meanBlockApplications: Double
    /// Standard error of that mean (nil for fewer than two documents).
    public var blockApplicationsStderr: Double?
    /// Mean forward passes per document.
    public var meanForwardPasses: Double
    /// Mean tokens per document.
    public var meanTokens: Double
    /// Mean path length (block applications per token).
    public var meanPathLength: Double
    /// Mean number of skipped blocks per document path.
    public var meanSkipped: Double
    /// Mean number of repeated blocks per document path.
    public var meanRepeated: Double
    /// For each block, the share of documents that skipped / executed / repeated it.
    public var perLayer: [LayerUsage]

    enum CodingKeys: String, CodingKey {
        case meanBlockApplications = "mean_block_applications"
        case blockApplicationsStderr = "block_applications_stderr"
        case meanForwardPasses = "mean_forward_passes"
        case meanTokens = "mean_tokens"
        case meanPathLength = "mean_path_length"
        case meanSkipped = "mean_skipped"
        case meanRepeated = "mean_repeated"
        case perLayer = "per_layer"
    }

    /// Statistics over `records` (zeros when there are none).
    public init(records: [ExampleRecord], layerCount: Int) {
        func avg(_ f: (ExampleRecord) -> Double) -> Double { records.isEmpty ? 0 : Statistics.mean(records.map(f)) }
        meanBlockApplications = avg { Double($0.blockApplications) }
        blockApplicationsStderr = Statistics.meanStandardError(records.map { Double($0.blockApplications) })
        meanForwardPasses = avg { Double($0.forwardPasses) }
        meanTokens = avg { Double($0.tokens) }
        meanPathLength = avg { Double($0.path.length) }
        meanSkipped = avg { Double($0.path.skipped) }
        meanRepeated = avg { Double($0.path.repeated) }
        perLayer = LayerUsage.perLayer(records, layerCount: layerCount)
    }
}

/// Wall-clock timing: the only part of a summary that differs between two runs of the same
/// configuration (including an interrupted-and-resumed run and an uninterrupted one).
public struct TimingSummary: Codable, Hashable, Sendable {
    /// Sum of the records' seconds (compute time; meaningful across interruptions, unlike the
    /// span between first and last record).
    public var seconds: Double
    /// `seconds / n`.
    public var secondsPerDocument: Double

    enum CodingKeys: String, CodingKey {
        case seconds
        case secondsPerDocument = "seconds_per_document"
    }

    public init(records: [ExampleRecord]) {
        var total = 0.0
        for r in records { total += r.seconds }
        seconds = total
        secondsPerDocument = records.isEmpty ? 0 : total / Double(records.count)
    }
}

/// `<task>.json`: a task's aggregated results and the configuration that produced them.
///
/// Computed from the records in document order, so it depends only on the records: a resumed
/// run's summary is byte-identical to an uninterrupted run's except for the `timing` object.
public struct TaskSummary: Codable, Hashable, Sendable {
    /// The format version this bench writes.
    public static let currentFormatVersion = 1

    public var formatVersion: Int
    /// Task name.
    public var task: String
    /// Run name.
    public var run: String
    /// The metric the comparison and the tables report (e.g. `acc,none`).
    public var primaryMetric: String
    /// Points per unit of the primary metric: 100 for a fraction (accuracy 0.5 = 50 points),
    /// 1 for a metric already on a 0–100 scale (SQuAD v2's F1).
    public var pointsScale: Double
    /// Metrics keyed as lm-eval does, each with stderr and n (the benchmark's aggregation).
    public var metrics: [String: MetricValue]
    /// Groups and subtasks beneath the task (MMLU, AGIEval), nil when there are none.
    public var subtasks: [AggregateSummary]?
    /// Documents summarised.
    public var n: Int
    /// Documents the run covers (after `limit`).
    public var documents: Int
    /// True when every document has a record.
    public var complete: Bool
    /// Layer statistics.
    public var layers: LayerStatistics
    /// The configuration that produced the records.
    public var configuration: RunConfiguration
    /// Timing, kept apart because it is the only non-reproducible part.
    public var timing: TimingSummary

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version"
        case task, run
        case primaryMetric = "primary_metric"
        case pointsScale = "points_scale"
        case metrics, subtasks, n, documents, complete, layers, configuration, timing
    }

    /// Summarises `records` (any order; they are sorted by document index first).
    ///
    /// - Parameters:
    ///   - documents: how many documents the run covers; `complete` is `n == documents`.
    ///   - aggregate: turns the records' scores (in document order) into metrics — the
    ///     benchmark's `aggregate`, so that groups and custom aggregations match lm-eval.
    ///   - primaryMetric: the metric tables report.
    ///   - pointsScale: points per unit of the primary metric (100 for fractions).
    public init(configuration: RunConfiguration, records: [ExampleRecord], documents: Int,
                primaryMetric: String, pointsScale: Double = 100,
                aggregate: ([ExampleScore]) -> BenchmarkAggregate) {
        let ordered = records.sorted { $0.index < $1.index }
        formatVersion = Self.currentFormatVersion
        task = configuration.task
        run = configuration.run
        self.primaryMetric = primaryMetric
        self.pointsScale = pointsScale
        self.configuration = configuration
        self.documents = documents
        n = ordered.count
        complete = ordered.count == documents
        let result = AggregateSummary(aggregate(ordered.map(\.score)))
        metrics = result.metrics
        subtasks = result.children
        layers = LayerStatistics(records: ordered, layerCount: configuration.layerCount)
        timing = TimingSummary(records: ordered)
    }

    /// The summary with zero timing: what must match between resumed and uninterrupted runs.
    public var withoutTiming: TaskSummary {
        var copy = self
        copy.timing = TimingSummary(records: [])
        return copy
    }
}
