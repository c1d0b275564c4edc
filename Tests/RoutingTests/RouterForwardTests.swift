import Engine
import Routing
import Support
import XCTest

/// Pooling, the router MLP and decisions on inputs small enough to compute by hand.
final class RouterForwardTests: XCTestCase {
    /// Rows [1,2] [3,4] [5,6] [7,8] [100,100]: 5 tokens, width 2.
    let hidden: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 100, 100]

    func testWindowCountAndSize() {
        XCTAssertEqual(WindowPooling.windowCount(tokens: 5, maxWindows: 8), 5)
        XCTAssertEqual(WindowPooling.windowCount(tokens: 20, maxWindows: 8), 8)
        XCTAssertEqual(WindowPooling.windowSize(tokens: 20, maxWindows: 8), 2) // 4 tokens dropped
        XCTAssertEqual(WindowPooling.windowCount(tokens: 0, maxWindows: 8), 0)
        XCTAssertEqual(WindowPooling.windowSize(tokens: 0, maxWindows: 8), 0)
    }

    func testPoolingDropsTrailingRemainder() {
        // W = 2 windows of ⌊5/2⌋ = 2 tokens; token 4 ([100,100]) is dropped.
        let pooled = WindowPooling.pool(hidden: hidden, tokens: 5, width: 2, maxWindows: 2)
        XCTAssertEqual(pooled, [2, 3, 6, 7])
    }

    func testPoolingWithFewerTokensThanWindows() {
        // W = min(8, 3) = 3 windows of one token each.
        let pooled = WindowPooling.pool(hidden: hidden, tokens: 3, width: 2, maxWindows: 8)
        XCTAssertEqual(pooled, [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(WindowPooling.pool(hidden: hidden, tokens: 0, width: 2, maxWindows: 8), [])
    }

    func testPoolingSingleWindowIsTheMean() {
        let pooled = WindowPooling.pool(hidden: hidden, tokens: 4, width: 2, maxWindows: 1)
        XCTAssertEqual(pooled, [4, 5])
    }

    /// w1 = [[0.5, −1], [2, 0.25]], b1 = [0.1, −0.2], w2 = [[1, −0.5], [0.3, 0.8], [−1, 0.2]],
    /// b2 = [0.05, −0.1, 0.2]. Expected values from the formula in float64 (Python).
    func makeRouter() throws -> Router {
        try Router(width: 2, bottleneck: 2, parameters: [0.5, -1, 2, 0.25, 0.1, -0.2, 1, -0.5, 0.3, 0.8, -1, 0.2, 0.05, -0.1, 0.2])
    }

    func testGELUTanhForm() {
        XCTAssertEqual(GELU.value(1), 0.841_191_99, accuracy: 1e-6)
        XCTAssertEqual(GELU.value(-1), -0.158_808_01, accuracy: 1e-6)
        XCTAssertEqual(GELU.value(0.5), 0.345_714_01, accuracy: 1e-6)
        XCTAssertEqual(GELU.value(0), 0)
        // Derivative against a central difference.
        for x: Float in [-2, -0.3, 0, 0.7, 3] {
            let h: Float = 1e-2
            let fd = (GELU.value(x + h) - GELU.value(x - h)) / (2 * h)
            XCTAssertEqual(GELU.derivative(x), fd, accuracy: 1e-3)
        }
    }

    func testRouterForwardOnHandComputedWindows() throws {
        let router = try makeRouter()
        let a: [Float] = [2, 3], b: [Float] = [6, 7]
        let la = a.withUnsafeBufferPointer { router.windowLogits($0) }
        let lb = b.withUnsafeBufferPointer { router.windowLogits($0) }
        let expectedA: [Float] = [-2.279_546_84, 3.523_632_29, 1.164_547_99]
        let expectedB: [Float] = [-6.725_112_20, 10.739_966_34, 2.910_112_20]
        for c in 0..<3 {
            XCTAssertEqual(la[c], expectedA[c], accuracy: 1e-5)
            XCTAssertEqual(lb[c], expectedB[c], accuracy: 1e-5)
        }
        // Averaged over both windows.
        let avg = router.logits(pooled: a + b, windowCount: 2)
        let expected: [Float] = [-4.502_329_52, 7.131_799_31, 2.037_330_10]
        for c in 0..<3 { XCTAssertEqual(avg[c], expected[c], accuracy: 1e-5) }
        XCTAssertEqual(router.logits(pooled: [], windowCount: 0), .zero)
    }

    /// The straightforward forward pass (one hidden unit at a time), kept here as the reference
    /// the interleaved implementation must equal bitwise.
    private func referenceLogits(_ r: Router, _ x: [Float]) -> SIMD3<Float> {
        let p = r.parameters, d = r.width, h = r.bottleneck
        func dot(_ row: Int) -> Float {
            var acc = SIMD16<Float>()
            var i = 0
            while i + 16 <= d {
                var a = SIMD16<Float>(), b = SIMD16<Float>()
                for l in 0..<16 { a[l] = p[row * d + i + l]; b[l] = x[i + l] }
                acc += a * b
                i += 16
            }
            var s: Float = 0
            for lane in 0..<16 { s += acc[lane] }
            while i < d { s += p[row * d + i] * x[i]; i += 1 }
            return s
        }
        let b1 = h * d, w2 = b1 + h, b2 = w2 + 3 * h
        var l = SIMD3<Float>()
        for j in 0..<h {
            let a = GELU.value(p[b1 + j] + dot(j))
            l[0] += p[w2 + j] * a
            l[1] += p[w2 + h + j] * a
            l[2] += p[w2 + 2 * h + j] * a
        }
        return SIMD3(p[b2], p[b2 + 1], p[b2 + 2]) + l
    }

    func testInterleavedForwardEqualsOneUnitAtATimeBitwise() {
        for (width, bottleneck) in [(576, 128), (37, 10), (16, 3)] {
            var g = SplitMix64(seed: UInt64(width))
            let router = Router(width: width, bottleneck: bottleneck, generator: &g)
            let x = (0..<width).map { _ in Float(2 * g.nextUnit() - 1) * 3 }
            let got = x.withUnsafeBufferPointer { router.windowLogits($0) }
            let want = referenceLogits(router, x)
            for c in 0..<3 { XCTAssertEqual(got[c].bitPattern, want[c].bitPattern, "width \(width), bottleneck \(bottleneck), class \(c)") }
            // Several windows (four per pass over the weights, then the rest one by one).
            for windows in [8, 5, 3] {
                let pooled = (0..<(windows * width)).map { _ in Float(2 * g.nextUnit() - 1) * 3 }
                var sum = SIMD3<Float>()
                for w in 0..<windows { sum += referenceLogits(router, Array(pooled[(w * width)..<((w + 1) * width)])) }
                let want = sum / Float(windows)
                let got = router.logits(pooled: pooled, windowCount: windows)
                for c in 0..<3 { XCTAssertEqual(got[c].bitPattern, want[c].bitPattern, "\(windows) windows of width \(width), class \(c)") }
            }
        }
    }

    func testDecisionArgmaxTiesAndBias() {
        XCTAssertEqual(Router.decision(logits: SIMD3(1, 2, 0)), 1)
        XCTAssertEqual(Router.decision(logits: SIMD3(3, 2, 0)), 0)
        XCTAssertEqual(Router.decision(logits: SIMD3(0, 1, 5)), 2)
        // Ties go to the lowest class.
        XCTAssertEqual(Router.decision(logits: SIMD3(1, 1, 1)), 0)
        XCTAssertEqual(Router.decision(logits: SIMD3(0, 2, 2)), 1)
        // Bias favouring skip flips a close call.
        XCTAssertEqual(Router.decision(logits: SIMD3(1, 1.5, 0), bias: SIMD3(1, 0, 0)), 0)
        // NaN never turns into a skip.
        XCTAssertEqual(Router.decision(logits: SIMD3(.nan, 0, 0)), 1)
    }

    func testRouterSetDecidesFromHiddenStatesAsPathDecider() throws {
        let router = try makeRouter()
        let hp = RouterHyperParameters(layerCount: 1, width: 2, bottleneck: 2, windows: 2)
        var set = try RouterSet(hyperParameters: hp, routers: [router], provenance: RouterProvenance())
        let decider: any PathDecider = set
        let decision = hidden.withUnsafeBufferPointer { decider.decide(layer: 0, hidden: $0, tokens: 5, width: 2) }
        XCTAssertEqual(decision, RoutingDecision.execute.rawValue) // averaged logits ≈ [−4.50, 7.13, 2.04]
        let logits = hidden.withUnsafeBufferPointer { set.logits(layer: 0, hidden: $0, tokens: 5, width: 2) }
        XCTAssertEqual(logits[1], 7.131_799_31, accuracy: 1e-5)
        // A large enough repeat bias flips it; an empty prompt always executes.
        set.bias = SIMD3(0, 0, 6)
        XCTAssertEqual(hidden.withUnsafeBufferPointer { set.decide(layer: 0, hidden: $0, tokens: 5, width: 2) }, 2)
        XCTAssertEqual(hidden.withUnsafeBufferPointer { set.decide(layer: 0, hidden: $0, tokens: 0, width: 2) }, 1)
        // The engine accepts it as a policy.
        if case .decided = LayerPolicy.decided(set) {} else { XCTFail("expected a decided policy") }
    }

    func testXavierInitialisation() throws {
        let hp = RouterHyperParameters(layerCount: 3, width: 64, bottleneck: 16, windows: 8)
        let set = try RouterSet(hyperParameters: hp, seed: 7)
        XCTAssertEqual(set.parameterCount, 3 * (16 * 64 + 16 + 3 * 16 + 3))
        let bound1 = Float((6.0 / Double(64 + 16)).squareRoot())
        let bound2 = Float((6.0 / Double(16 + 3)).squareRoot())
        for r in set.routers {
            let lay = r.layout
            XCTAssertTrue(r.parameters[lay.w1].allSatisfy { abs($0) <= bound1 })
            XCTAssertTrue(r.parameters[lay.w2].allSatisfy { abs($0) <= bound2 })
            XCTAssertTrue(r.parameters[lay.b1].allSatisfy { $0 == 0 })
            XCTAssertTrue(r.parameters[lay.b2].allSatisfy { $0 == 0 })
            // Spread close to uniform: mean |w| ≈ bound / 2.
            let meanAbs = r.parameters[lay.w1].map { abs($0) }.reduce(0, +) / Float(lay.w1.count)
            XCTAssertEqual(meanAbs, bound1 / 2, accuracy: bound1 * 0.05)
        }
        XCTAssertNotEqual(set.routers[0].parameters, set.routers[1].parameters)
        XCTAssertEqual(try RouterSet(hyperParameters: hp, seed: 7), set)
        XCTAssertNotEqual(try RouterSet(hyperParameters: hp, seed: 8), set)
        // A layer's initial weights do not depend on how many layers there are.
        let bigger = try RouterSet(hyperParameters: RouterHyperParameters(layerCount: 5, width: 64, bottleneck: 16), seed: 7)
        XCTAssertEqual(bigger.routers[2], set.routers[2])
    }

    func testPaperParameterCount() {
        // SmolLM2-135M: 30 × 74,243 ≈ 2.2M (docs/METHOD.md §1).
        XCTAssertEqual(Router.parameterCount(width: 576, bottleneck: 128), 74_243)
    }

    func testRouterRejectsWrongParameterCount() {
        XCTAssertThrowsError(try Router(width: 2, bottleneck: 2, parameters: [1, 2, 3], source: "x.routers", layer: 4)) { error in
            XCTAssertEqual(error as? RoutingError,
                           .parameterCountMismatch(source: "x.routers", layer: 4, expected: 15, actual: 3))
        }
    }

    func testSplitMixIsRepeatable() {
        var a = SplitMix64(seed: 42), b = SplitMix64(seed: 42)
        for _ in 0..<100 { XCTAssertEqual(a.next(), b.next()) }
        // Reference value of SplitMix64 seeded with 0 (first output).
        var z = SplitMix64(seed: 0)
        XCTAssertEqual(z.next(), 0xE220_A839_7B1D_CDAF)
        var g = SplitMix64(seed: 1)
        for _ in 0..<1000 {
            let v = g.nextInt(below: 7)
            XCTAssertTrue((0..<7).contains(v))
            let u = g.nextUnit()
            XCTAssertTrue(u >= 0 && u < 1)
        }
        XCTAssertNotEqual(SplitMix64.derive(1, "a"), SplitMix64.derive(1, "b"))
        XCTAssertEqual(SplitMix64.derive(1, "a"), SplitMix64.derive(1, "a"))
    }
}
