import Engine
import Foundation
import Support


/// A percentile confidence interval of a difference of means from a paired bootstrap.
public struct BootstrapInterval: Codable, Hashable, Sendable {
    /// The point estimate: mean(b) − mean(a) over the pairs.
    public var delta: Double
    /// Lower end of the interval.
    public var lower: Double
    /// Upper end of the interval.
    public var upper: Double
    /// Confidence level, e.g. 0.95.
    public var confidence: Double
    /// Number of bootstrap resamples.
    public var resamples: Int
    /// Seed of the generator that drew them.
    public var seed: UInt64

    public init(delta: Double, lower: Double, upper: Double, confidence: Double, resamples: Int, seed: UInt64) {
        self.delta = delta
        self.lower = lower
        self.upper = upper
        self.confidence = confidence
        self.resamples = resamples
        self.seed = seed
    }

    /// The same interval with every number multiplied by `factor` (e.g. 100 for points).
    public func scaled(by factor: Double) -> BootstrapInterval {
        BootstrapInterval(delta: delta * factor, lower: lower * factor, upper: upper * factor,
                          confidence: confidence, resamples: resamples, seed: seed)
    }
}

/// The paired bootstrap behind `bench compare`'s confidence intervals.
///
/// Means, standard errors and lm-eval's pooled group standard error live in
/// `Benchmarks.Statistics` (the benchmarks aggregate with them); this adds what only comparisons
/// need. All sums run in index order, so results are bit-for-bit reproducible for the same input.
public enum PairedBootstrap {
    /// The default number of bootstrap resamples (the issue asks for at least 1000).
    public static let defaultResamples = 10_000
    /// The default seed, fixed so that reports are reproducible.
    public static let defaultSeed: UInt64 = 1234

    /// Quantile with linear interpolation between order statistics (numpy's default, "type 7"):
    /// h = (n−1)·p, result = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). `sorted` must be ascending.
    public static func quantile(sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        precondition(p >= 0 && p <= 1, "quantile level must be in [0, 1]")
        let h = Double(sorted.count - 1) * p
        let lo = Int(h.rounded(.down))
        let hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (h - Double(lo)) * (sorted[hi] - sorted[lo])
    }

    /// Paired bootstrap percentile interval for mean(b) − mean(a).
    ///
    /// `a[i]` and `b[i]` are the same example scored by two runs. Each resample draws n pair
    /// indices with replacement (xoshiro256** seeded with `seed`), and takes the mean of the
    /// per-pair differences b − a; the interval is the (1−c)/2 and (1+c)/2 quantiles of those
    /// `resamples` means (percentile method, numpy's linear quantile). Pairing keeps the
    /// per-example correlation between the runs, which makes the interval much tighter than two
    /// independent intervals would. `nil` when there are no pairs.
    public static func interval(a: [Double], b: [Double],
                                resamples: Int = defaultResamples,
                                confidence: Double = 0.95,
                                seed: UInt64 = defaultSeed) -> BootstrapInterval? {
        precondition(a.count == b.count, "paired bootstrap needs the same number of values in both runs")
        precondition(resamples >= 1, "at least one resample")
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1)")
        let n = a.count
        guard n > 0 else { return nil }
        var differences = [Double](repeating: 0, count: n)
        for i in 0..<n { differences[i] = b[i] - a[i] }
        var total = 0.0
        for d in differences { total += d }
        let delta = total / Double(n)
        var rng = Xoshiro256StarStar(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        differences.withUnsafeBufferPointer { d in
            for r in 0..<resamples {
                var sum = 0.0
                for _ in 0..<n { sum += d[rng.nextInt(below: n)] }
                means[r] = sum / Double(n)
            }
        }
        means.sort()
        let alpha = 1 - confidence
        return BootstrapInterval(delta: delta,
                                 lower: quantile(sorted: means, alpha / 2)!,
                                 upper: quantile(sorted: means, 1 - alpha / 2)!,
                                 confidence: confidence, resamples: resamples, seed: seed)
    }
    /// Interval for the mean over groups of each group's mean(b) − mean(a) — the paper's "avg Δ"
    /// over tasks — by a stratified paired bootstrap: each resample redraws every group's pairs
    /// within the group (groups in order, one xoshiro256** stream seeded with `seed`) and averages
    /// the groups' Δs with equal weight. `nil` without groups or when a group is empty.
    public static func macroInterval(groups: [(a: [Double], b: [Double])],
                                     resamples: Int = defaultResamples,
                                     confidence: Double = 0.95,
                                     seed: UInt64 = defaultSeed) -> BootstrapInterval? {
        precondition(resamples >= 1, "at least one resample")
        precondition(confidence > 0 && confidence < 1, "confidence must be in (0, 1)")
        guard !groups.isEmpty, groups.allSatisfy({ !$0.a.isEmpty }) else { return nil }
        let differences: [[Double]] = groups.map { g in
            precondition(g.a.count == g.b.count, "paired bootstrap needs the same number of values in both runs")
            return zip(g.b, g.a).map { $0 - $1 }
        }
        func mean(_ d: [Double]) -> Double {
            var total = 0.0
            for x in d { total += x }
            return total / Double(d.count)
        }
        var total = 0.0
        for d in differences { total += mean(d) }
        let delta = total / Double(differences.count)
        var rng = Xoshiro256StarStar(seed: seed)
        var means = [Double](repeating: 0, count: resamples)
        for r in 0..<resamples {
            var sumOfMeans = 0.0
            for d in differences {
                let n = d.count
                var sum = 0.0
                d.withUnsafeBufferPointer { p in for _ in 0..<n { sum += p[rng.nextInt(below: n)] } }
                sumOfMeans += sum / Double(n)
            }
            means[r] = sumOfMeans / Double(differences.count)
        }
        means.sort()
        let alpha = 1 - confidence
        return BootstrapInterval(delta: delta, lower: quantile(sorted: means, alpha / 2)!,
                                 upper: quantile(sorted: means, 1 - alpha / 2)!,
                                 confidence: confidence, resamples: resamples, seed: seed)
    }
}

