import Foundation
import Routing
import Support
import XCTest

/// The probability-blending knob: hand-computed decisions, its limits (α = 0 is the plain router,
/// α > ½ toward a class is that class everywhere), monotonicity, and parsing.
final class RouterBlendTests: XCTestCase {
    /// Logits whose softmax is exactly (0.6, 0.3, 0.1) up to rounding.
    let skipLeaning = SIMD3<Float>(log(6), log(3), log(1))

    func testHandComputedThresholdTowardExecute() throws {
        // p′ = (0.6(1−α), 0.3(1−α) + α, 0.1(1−α)): execute overtakes skip at α = 0.3/1.3 ≈ 0.2308.
        XCTAssertEqual(Router.decision(logits: skipLeaning, blend: try RouterBlend(weight: 0.2)), 0)
        XCTAssertEqual(Router.decision(logits: skipLeaning, blend: try RouterBlend(weight: 0.25)), 1)
    }

    func testHandComputedThresholdTowardSkip() throws {
        // p = (0.1, 0.3, 0.6) → p′ = (0.1(1−α) + α, 0.3(1−α), 0.6(1−α)): skip wins from α = 0.5/1.5 ≈ 0.333.
        let repeatLeaning = SIMD3<Float>(log(1), log(3), log(6))
        XCTAssertEqual(Router.decision(logits: repeatLeaning, blend: try RouterBlend(weight: 0.3, toward: .skip)), 2)
        XCTAssertEqual(Router.decision(logits: repeatLeaning, blend: try RouterBlend(weight: 0.4, toward: .skip)), 0)
    }

    func testBiasIsAddedBeforeBlending() throws {
        // A bias of ln 2 on execute makes p = (0.6, 0.6, 0.1)/1.3; execute then wins at any α > 0.
        let bias = SIMD3<Float>(0, log(2) + 1e-6, 0)
        XCTAssertEqual(Router.decision(logits: skipLeaning, bias: bias, blend: try RouterBlend(weight: 0.01)), 1)
        XCTAssertEqual(Router.decision(logits: skipLeaning, bias: .zero, blend: try RouterBlend(weight: 0.01)), 0)
    }

    func testZeroWeightIsThePlainRouterAndAboveOneHalfIsTheTargetClass() throws {
        var g = SplitMix64(seed: 42)
        let plain = try RouterBlend(weight: 0)
        let execute = try RouterBlend(weight: 0.5001)
        let skip = try RouterBlend(weight: 0.5001, toward: .skip)
        for _ in 0..<10_000 {
            let z = SIMD3<Float>(randomLogit(&g), randomLogit(&g), randomLogit(&g))
            XCTAssertEqual(Router.decision(logits: z, blend: plain), Router.decision(logits: z), "\(z)")
            XCTAssertEqual(Router.decision(logits: z, blend: execute), 1, "\(z)")
            XCTAssertEqual(Router.decision(logits: z, blend: skip), 0, "\(z)")
        }
    }

    func testGrowingWeightOnlyEverFlipsDecisionsToTheTargetClass() throws {
        var g = SplitMix64(seed: 7)
        let weights: [Float] = [0, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5]
        var flips = 0
        for _ in 0..<5_000 {
            let z = SIMD3<Float>(randomLogit(&g), randomLogit(&g), randomLogit(&g))
            for toward in RoutingDecision.allCases {
                let decisions = try weights.map { Router.decision(logits: z, blend: try RouterBlend(weight: $0, toward: toward)) }
                for (a, b) in zip(decisions, decisions.dropFirst()) where a != b {
                    XCTAssertEqual(b, toward.rawValue, "logits \(z), toward \(toward.name): \(decisions)")
                    flips += 1
                }
            }
        }
        XCTAssertGreaterThan(flips, 1000, "the sweep should flip many decisions")
    }

    func testNaNLogitsStillExecute() throws {
        XCTAssertEqual(Router.decision(logits: SIMD3(.nan, 0, 0), blend: try RouterBlend(weight: 0.3, toward: .skip)), 1)
    }

    func testParsingAndDescription() throws {
        XCTAssertEqual(try RouterBlend(parsing: "0.2"), try RouterBlend(weight: 0.2, toward: .execute))
        XCTAssertEqual(try RouterBlend(parsing: "skip:0.1"), try RouterBlend(weight: 0.1, toward: .skip))
        XCTAssertEqual(try RouterBlend(parsing: "repeat:1"), try RouterBlend(weight: 1, toward: .repeated))
        XCTAssertEqual(try RouterBlend(parsing: "execute:0.25").description, "execute:0.25")
        XCTAssertEqual(try RouterBlend(parsing: try RouterBlend(parsing: "skip:0.1").description),
                       try RouterBlend(weight: 0.1, toward: .skip))
        for bad in ["", "x", "skip:", ":0.1", "halt:0.1", "skip:0.1:2", "-0.1", "1.01", "nan", "inf"] {
            XCTAssertThrowsError(try RouterBlend(parsing: bad), bad) { error in
                guard case .invalidConfiguration = error as? RoutingError else {
                    return XCTFail("\(bad): unexpected error \(error)")
                }
            }
        }
    }

    func testRouterSetDecisionsUseItsBlend() throws {
        var set = try RouterSet(hyperParameters: RouterHyperParameters(layerCount: 4, width: 8), seed: 3)
        let hidden = (0..<40).map { Float(($0 * 37) % 11) - 5 }
        let plain = (0..<4).map { l in hidden.withUnsafeBufferPointer { set.decide(layer: l, hidden: $0, tokens: 5, width: 8) } }
        set.blend = try RouterBlend(weight: 0.6, toward: .repeated)
        let blended = (0..<4).map { l in hidden.withUnsafeBufferPointer { set.decide(layer: l, hidden: $0, tokens: 5, width: 8) } }
        XCTAssertEqual(blended, [2, 2, 2, 2])
        XCTAssertNotEqual(plain, blended, "the fixture should not already repeat everywhere")
    }

    private func randomLogit(_ g: inout SplitMix64) -> Float {
        Float(g.next() % 20_001) / 1000 - 10
    }
}
