import Benchmarks
import Reports
import Runs
import Supervision
import Support
import XCTest

final class StatisticsTests: XCTestCase {
    // MARK: Means and standard errors (Benchmarks.Statistics, as the harness uses them)

    func testSampleStandardErrorTextbookValue() throws {
        // Σ(x−5)² = 32, sample variance 32/7, stderr = √(32/7/8) = √(4/7).
        let se = try XCTUnwrap(Statistics.meanStandardError([2, 4, 4, 4, 5, 5, 7, 9]))
        XCTAssertEqual(se, (4.0 / 7.0).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(se, 0.7559289460184544, accuracy: 1e-15)
        XCTAssertNil(Statistics.meanStandardError([1]), "n = 1 has no sample standard deviation (lm-eval: N/A)")
    }

    func testPooledStandardErrorMatchesLmEvalFormulaByHand() {
        // Groups [1,0,1,1] (se² = 0.25/4) and [0,0,1] (se² = (1/3)/3):
        // pooled var = (3·(1/16)·4 + 2·(1/9)·3) / (7 − 2) = (0.75 + 2/3)/5; stderr = √(that / 7).
        let se1 = Statistics.meanStandardError([1, 0, 1, 1])!, se2 = Statistics.meanStandardError([0, 0, 1])!
        XCTAssertEqual(se1, 0.25, accuracy: 1e-15)
        XCTAssertEqual(se2, (1.0 / 9.0).squareRoot(), accuracy: 1e-15)
        let pooled = Statistics.pooledStandardError(standardErrors: [se1, se2], sizes: [4, 3])
        XCTAssertEqual(pooled, ((0.75 + 2.0 / 3.0) / 5 / 7).squareRoot(), accuracy: 1e-15)
        XCTAssertEqual(pooled, 0.20118695404073914, accuracy: 1e-14)   // numpy
        XCTAssertEqual(Statistics.microAverage(values: [0.75, 1.0 / 3.0], sizes: [4, 3]), 4.0 / 7.0, accuracy: 1e-15)
    }

    // MARK: Quantiles and the bootstrap

    func testQuantileInterpolatesLikeNumpy() {
        XCTAssertEqual(PairedBootstrap.quantile(sorted: [1, 2, 3, 4], 0.25), 1.75)     // np.quantile → 1.75
        XCTAssertEqual(PairedBootstrap.quantile(sorted: [1, 2, 3, 4], 0.975)!, 3.925, accuracy: 1e-12)
        XCTAssertEqual(PairedBootstrap.quantile(sorted: [5], 0.5), 5)
        XCTAssertNil(PairedBootstrap.quantile(sorted: [], 0.5))
    }

    func testConstantDifferenceGivesADegenerateInterval() throws {
        let a: [Double] = [0, 1, 0, 1, 1], b = a.map { $0 + 0.25 }
        let ci = try XCTUnwrap(PairedBootstrap.interval(a: a, b: b, resamples: 1000))
        XCTAssertEqual(ci.delta, 0.25, accuracy: 1e-15)
        XCTAssertEqual(ci.lower, ci.delta, accuracy: 1e-15)
        XCTAssertEqual(ci.upper, ci.delta, accuracy: 1e-15)
    }

    func testMacroIntervalOfOneGroupIsThePairedInterval() throws {
        let a: [Double] = [0, 1, 0, 1, 1, 0, 0], b: [Double] = [1, 1, 0, 0, 1, 1, 0]
        XCTAssertEqual(PairedBootstrap.macroInterval(groups: [(a, b)], resamples: 3000),
                       PairedBootstrap.interval(a: a, b: b, resamples: 3000))
    }

    func testMacroIntervalWeighsTasksEquallyAndResamplesWithinEach() throws {
        // Task 1: constant difference +1 over 2 documents; task 2: differences {0, 1} over 8 documents.
        // Mean task Δ = (1 + 0.5) / 2 = 0.75 (the pooled mean would be (2 + 4) / 10 = 0.6). Task 1 never
        // varies, so every resample is (1 + m2) / 2 with m2 a resample mean of task 2, within [0.5, 1].
        let t1 = (a: [0.0, 0.0], b: [1.0, 1.0])
        let t2 = (a: [Double](repeating: 0, count: 8), b: [0.0, 1, 0, 1, 0, 1, 0, 1])
        let ci = try XCTUnwrap(PairedBootstrap.macroInterval(groups: [t1, t2], resamples: 4000))
        XCTAssertEqual(ci.delta, 0.75, accuracy: 1e-15)
        let task2 = try XCTUnwrap(PairedBootstrap.interval(a: t2.a, b: t2.b, resamples: 4000))
        XCTAssertGreaterThan(ci.lower, 0.5)
        XCTAssertLessThan(ci.upper, 1)
        XCTAssertLessThan(ci.lower, 0.75)
        XCTAssertGreaterThan(ci.upper, 0.75)
        // Half as wide as task 2's own interval, up to resampling noise.
        XCTAssertEqual(ci.upper - ci.lower, (task2.upper - task2.lower) / 2, accuracy: 0.07)
        XCTAssertNil(PairedBootstrap.macroInterval(groups: []))
        XCTAssertNil(PairedBootstrap.macroInterval(groups: [t1, (a: [], b: [])]))
    }

    func testTwoPairsByHand() throws {
        // Differences {0, 1}: a resample mean is 0 (p = 1/4), 0.5 (1/2) or 1 (1/4), so the 2.5% and
        // 97.5% quantiles of many resamples are exactly 0 and 1.
        let ci = try XCTUnwrap(PairedBootstrap.interval(a: [0, 0], b: [0, 1], resamples: 10_000))
        XCTAssertEqual(ci.delta, 0.5)
        XCTAssertEqual(ci.lower, 0)
        XCTAssertEqual(ci.upper, 1)
        XCTAssertEqual(ci.resamples, 10_000)
        XCTAssertEqual(ci.seed, PairedBootstrap.defaultSeed)
    }

    func testLargeSampleAgreesWithTheNormalApproximation() throws {
        // 400 pairs: B gains on 60 documents, loses on 20 → d ∈ {−1, 0, 1}, mean 0.1.
        // The percentile interval should be close to mean ± 1.96·σ/√n with σ the population sd.
        var a: [Double] = [], b: [Double] = []
        for i in 0..<400 {
            let (x, y): (Double, Double) = i < 60 ? (0, 1) : i < 80 ? (1, 0) : (i % 2 == 0 ? (1, 1) : (0, 0))
            a.append(x)
            b.append(y)
        }
        let ci = try XCTUnwrap(PairedBootstrap.interval(a: a, b: b, resamples: 4000, seed: 99))
        let mean = 0.1, variance = 80.0 / 400 - mean * mean
        let half = 1.96 * (variance / 400).squareRoot()
        XCTAssertEqual(ci.delta, mean, accuracy: 1e-12)
        XCTAssertEqual(ci.lower, mean - half, accuracy: 0.1 * half)
        XCTAssertEqual(ci.upper, mean + half, accuracy: 0.1 * half)
    }

    func testSameSeedSameIntervalOtherSeedOtherDraws() throws {
        let a: [Double] = (0..<50).map { Double($0 % 3 == 0 ? 1 : 0) }
        let b: [Double] = (0..<50).map { Double($0 % 2 == 0 ? 1 : 0) }
        let first = try XCTUnwrap(PairedBootstrap.interval(a: a, b: b, resamples: 1000, seed: 5))
        let again = try XCTUnwrap(PairedBootstrap.interval(a: a, b: b, resamples: 1000, seed: 5))
        let other = try XCTUnwrap(PairedBootstrap.interval(a: a, b: b, resamples: 1000, seed: 6))
        XCTAssertEqual(first, again)
        XCTAssertEqual(first.delta, other.delta)
        XCTAssertEqual(other.seed, 6)
        var g5 = Xoshiro256StarStar(seed: 5), g6 = Xoshiro256StarStar(seed: 6)
        XCTAssertNotEqual(g5.next(), g6.next())
        XCTAssertNil(PairedBootstrap.interval(a: [], b: []))
    }
}
