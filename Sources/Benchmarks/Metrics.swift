import Foundation

/// lm-eval's multiple-choice metrics over per-choice summed log-likelihoods.
public enum MultipleChoiceScoring {
    /// `numpy.argmax`: the first maximum; a NaN counts as the maximum (the first NaN wins).
    public static func argmax(_ values: [Double]) -> Int {
        precondition(!values.isEmpty, "argmax of an empty list")
        if let firstNaN = values.firstIndex(where: { $0.isNaN }) { return firstNaN }
        var best = 0
        for index in values.indices.dropFirst() where values[index] > values[best] { best = index }
        return best
    }

    /// The `acc` prediction: the choice with the highest log-likelihood (first on ties).
    public static func prediction(logLikelihoods: [Double]) -> Int {
        argmax(logLikelihoods)
    }

    /// The `acc_norm` prediction: the highest log-likelihood divided by the choice's length in
    /// characters (Python `len`, code points, without the leading delimiter space).
    public static func normalizedPrediction(logLikelihoods: [Double], choices: [String]) -> Int {
        precondition(logLikelihoods.count == choices.count, "one log-likelihood per choice")
        return argmax(zip(logLikelihoods, choices).map { $0 / Double(PythonText.length($1)) })
    }

    /// TruthfulQA `mc2`: the normalised probability mass on the true answers,
    /// `Σ_{label=1} exp(ll_i) / Σ_j exp(ll_j)`. Computed with log-sum-exp, which equals lm-eval's
    /// direct `exp` except where that underflows to 0/0.
    public static func mc2(logLikelihoods: [Double], labels: [Int]) -> Double {
        precondition(logLikelihoods.count == labels.count, "one label per answer")
        guard let maximum = logLikelihoods.max() else { return 0 }
        let weights = logLikelihoods.map { exp($0 - maximum) }
        let total = weights.reduce(0, +)
        let trueMass = zip(weights, labels).filter { $0.1 == 1 }.map(\.0).reduce(0, +)
        return trueMass / total
    }
}

/// Aggregation and standard errors as lm-eval reports them.
public enum Statistics {
    /// The arithmetic mean, summed left to right as Python's `sum` does.
    public static func mean(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "mean of an empty list")
        return values.reduce(0, +) / Double(values.count)
    }

    /// `sample_stddev`: √(Σ(x−μ)² / (n−1)); nil for fewer than two values.
    public static func sampleStandardDeviation(_ values: [Double]) -> Double? {
        guard values.count > 1 else { return nil }
        let mu = mean(values)
        return sqrt(values.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(values.count - 1))
    }

    /// `mean_stderr`: the sample standard deviation over √n; nil for fewer than two values.
    public static func meanStandardError(_ values: [Double]) -> Double? {
        sampleStandardDeviation(values).map { $0 / sqrt(Double(values.count)) }
    }

    /// lm-eval's `pooled_sample_stderr` for a size-weighted group:
    /// √( Σ (nᵢ−1)·seᵢ²·nᵢ / (Σnᵢ − k) / Σnᵢ ).
    public static func pooledStandardError(standardErrors: [Double], sizes: [Int]) -> Double {
        precondition(standardErrors.count == sizes.count, "one size per standard error")
        let total = Double(sizes.reduce(0, +))
        let numerator = zip(standardErrors, sizes).map { se, n in Double(n - 1) * se * se * Double(n) }.reduce(0, +)
        return sqrt(numerator / (total - Double(sizes.count)) / total)
    }

    /// The size-weighted (micro) average Σ vᵢ·nᵢ / Σ nᵢ, lm-eval's `weight_by_size: true`.
    public static func microAverage(values: [Double], sizes: [Int]) -> Double {
        precondition(values.count == sizes.count && !values.isEmpty, "one size per value")
        return zip(values, sizes).map { $0 * Double($1) }.reduce(0, +) / Double(sizes.reduce(0, +))
    }

    /// The unweighted (macro) average over subtasks, `weight_by_size: false`.
    public static func macroAverage(_ values: [Double]) -> Double { mean(values) }
}
