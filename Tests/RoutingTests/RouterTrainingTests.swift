import Foundation
import Routing
import Support
import XCTest

/// Loss, gradients, optimiser, schedule, metrics and end-to-end training.
final class RouterTrainingTests: XCTestCase {
    // MARK: - Focal loss and class weights

    func testFocalLossAgainstHandComputation() {
        // p = softmax([1, 2, 0.5]) = [0.231224, 0.628532, 0.140244]; FL = −α_y (1 − p_y)² log p_y.
        let loss = FocalLoss(gamma: 2, classWeights: SIMD3(0.5, 1, 1.5))
        let logits = SIMD3<Float>(1, 2, 0.5)
        XCTAssertEqual(loss.loss(logits: logits, target: 0), 0.432_733_20, accuracy: 1e-6)
        XCTAssertEqual(loss.loss(logits: logits, target: 1), 0.064_077_64, accuracy: 1e-6)
        XCTAssertEqual(loss.loss(logits: logits, target: 2), 2.178_032_35, accuracy: 1e-5)
        // γ = 0 with unit weights is cross-entropy.
        let ce = FocalLoss(gamma: 0)
        XCTAssertEqual(ce.loss(logits: logits, target: 1), Float(-log(0.628_531_72)), accuracy: 1e-6)
    }

    func testFocalLossGradientAgainstFiniteDifferences() {
        let loss = FocalLoss(gamma: 2, classWeights: SIMD3(0.7, 1.1, 1.2))
        for (logits, target) in [(SIMD3<Float>(1, 2, 0.5), 0), (SIMD3<Float>(-3, 4, 0), 1), (SIMD3<Float>(0.2, 0.1, 0.3), 2)] {
            let g = loss.lossAndGradient(logits: logits, target: target).gradient
            for k in 0..<3 {
                var up = logits, down = logits
                let h: Float = 1e-2
                up[k] += h
                down[k] -= h
                let fd = (loss.loss(logits: up, target: target) - loss.loss(logits: down, target: target)) / (2 * h)
                XCTAssertEqual(g[k], fd, accuracy: 2e-4)
            }
        }
    }

    func testClassBalancedWeights() {
        // The paper's label counts: the weights barely differ at β = 0.999.
        let w = FocalLoss.classBalancedWeights(counts: [4399, 120_956, 1457])
        XCTAssertEqual(w[0], 0.915_992_78, accuracy: 1e-6)
        XCTAssertEqual(w[1], 0.904_760_33, accuracy: 1e-6)
        XCTAssertEqual(w[2], 1.179_246_89, accuracy: 1e-6)
        XCTAssertEqual(w[0] + w[1] + w[2], 3, accuracy: 1e-6)
        // An absent class weighs 0 and the present ones average 1.
        let absent = FocalLoss.classBalancedWeights(counts: [10, 100, 0])
        XCTAssertEqual(absent[0], 1.810_672_53, accuracy: 1e-5)
        XCTAssertEqual(absent[1], 0.189_327_47, accuracy: 1e-5)
        XCTAssertEqual(absent[2], 0)
        XCTAssertEqual(FocalLoss.classBalancedWeights(counts: [5, 5, 5]), SIMD3(1, 1, 1))
        XCTAssertEqual(FocalLoss.classBalancedWeights(counts: [0, 0, 0]), SIMD3(1, 1, 1))
    }

    // MARK: - Full router gradient

    /// Independent float64 reference of the training objective: per example and layer, the
    /// window logits W2·gelu(W1·x + b1) + b2 averaged over windows, focal loss, mean over all.
    func referenceLoss(_ params: [[Double]], examples: [RouterTrainingExample], d: Int, h: Int,
                       alpha: [Double], gamma: Double) -> Double {
        var total = 0.0
        for e in examples {
            for l in 0..<e.layerCount {
                let p = params[l]
                var logits = [0.0, 0.0, 0.0]
                for w in 0..<e.windowCount {
                    let x = (0..<d).map { Double(e.pooled[(l * e.windowCount + w) * d + $0]) }
                    for c in 0..<3 {
                        var s = p[h * d + h + 3 * h + c]
                        for j in 0..<h {
                            var z = p[h * d + j]
                            for k in 0..<d { z += p[j * d + k] * x[k] }
                            let u = 0.7978845608028654 * (z + 0.044715 * z * z * z)
                            s += p[h * d + h + c * h + j] * 0.5 * z * (1 + tanh(u))
                        }
                        logits[c] += s
                    }
                }
                logits = logits.map { $0 / Double(e.windowCount) }
                let m = logits.max()!
                let lse = m + log(logits.map { exp($0 - m) }.reduce(0, +))
                let y = e.labels[l]
                let logp = logits[y] - lse
                total += -alpha[y] * pow(1 - exp(logp), gamma) * logp
            }
        }
        return total / Double(examples.count * examples[0].layerCount)
    }

    func randomExamples(count: Int, layers: Int, width: Int, windows: [Int], seed: UInt64) -> [RouterTrainingExample] {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let w = windows[i % windows.count]
            let pooled = (0..<(layers * w * width)).map { _ in Float(2 * g.nextUnit() - 1) }
            let labels = (0..<layers).map { _ in g.nextInt(below: 3) }
            return RouterTrainingExample(id: "ex\(i)", layerCount: layers, windowCount: w, width: width, pooled: pooled, labels: labels)
        }
    }

    func testRouterGradientAgainstFiniteDifferences() throws {
        let L = 2, d = 5, h = 4
        let hp = RouterHyperParameters(layerCount: L, width: d, bottleneck: h, windows: 3)
        var g = SplitMix64(seed: 99)
        // Random weights and biases (not the zero-bias init) so every term is exercised.
        let routers = try (0..<L).map { _ in
            try Router(width: d, bottleneck: h,
                       parameters: (0..<Router.parameterCount(width: d, bottleneck: h)).map { _ in Float(g.nextUnit() - 0.5) })
        }
        let set = try RouterSet(hyperParameters: hp, routers: routers, provenance: RouterProvenance())
        let examples = randomExamples(count: 4, layers: L, width: d, windows: [1, 2, 3], seed: 5)
        let alpha: [Double] = [0.7, 1.1, 1.2]
        let loss = FocalLoss(gamma: 2, classWeights: SIMD3(0.7, 1.1, 1.2))
        let (value, gradients) = RouterObjective.lossAndGradients(routers: set, examples: examples, loss: loss)

        let params = routers.map { $0.parameters.map(Double.init) }
        let reference = referenceLoss(params, examples: examples, d: d, h: h, alpha: alpha, gamma: 2)
        XCTAssertEqual(Double(value), reference, accuracy: 1e-5 * max(1, abs(reference)))

        let eps = 1e-6
        var worst = 0.0
        for l in 0..<L {
            for i in 0..<params[l].count {
                var up = params, down = params
                up[l][i] += eps
                down[l][i] -= eps
                let fd = (referenceLoss(up, examples: examples, d: d, h: h, alpha: alpha, gamma: 2)
                    - referenceLoss(down, examples: examples, d: d, h: h, alpha: alpha, gamma: 2)) / (2 * eps)
                let analytic = Double(gradients[l][i])
                let error = abs(analytic - fd) / (1e-4 + abs(fd))
                worst = max(worst, error)
                XCTAssertEqual(analytic, fd, accuracy: 1e-4 + 1e-3 * abs(fd), "layer \(l) parameter \(i)")
            }
        }
        XCTAssertLessThan(worst, 1e-2)
        // The gradient is not trivially zero anywhere that matters.
        XCTAssertTrue(gradients.allSatisfy { $0.contains { abs($0) > 1e-4 } })
    }

    // MARK: - Optimiser and schedule

    func testAdamWStepsAgainstHandComputation() {
        var opt = AdamW(parameterCount: 2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        var p: [Float] = [1, -2]
        // Step 1: θ·(1 − 0.001), m̂ = g, v̂ = g², so each parameter moves by lr·sign(g).
        opt.update(parameters: &p, gradient: [0.5, -0.1], learningRate: 0.1)
        XCTAssertEqual(p[0], 0.899, accuracy: 1e-6)
        XCTAssertEqual(p[1], -1.898, accuracy: 1e-6)
        XCTAssertEqual(opt.firstMoment[0], 0.05, accuracy: 1e-7)
        XCTAssertEqual(opt.secondMoment[1], 1e-5, accuracy: 1e-9) // (1 − β2) rounds in Float
        // Step 2 with a different gradient (values from the formula in float64).
        opt.update(parameters: &p, gradient: [-0.2, 0.3], learningRate: 0.1)
        XCTAssertEqual(p[0], 0.863_540_418, accuracy: 1e-6)
        XCTAssertEqual(p[1], -1.945_520_991, accuracy: 1e-6)
        XCTAssertEqual(opt.step, 2)
    }

    func testCosineScheduleWithWarmup() {
        let s = CosineSchedule(peak: 1e-3, warmupSteps: 4, totalSteps: 14)
        XCTAssertEqual(s.learningRate(step: 0), 2.5e-4, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(step: 3), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(step: 4), 1e-3, accuracy: 1e-9)
        XCTAssertEqual(s.learningRate(step: 9), 5e-4, accuracy: 1e-9) // halfway through the decay
        XCTAssertLessThan(s.learningRate(step: 13), 3e-5)
        XCTAssertEqual(CosineSchedule.clampedWarmup(requested: 500, totalSteps: 5625, maxFraction: 0.1), 500)
        XCTAssertEqual(CosineSchedule.clampedWarmup(requested: 500, totalSteps: 300, maxFraction: 0.1), 30)
        XCTAssertEqual(CosineSchedule(peak: 1, warmupSteps: 0, totalSteps: 10).learningRate(step: 0), 1)
    }

    // MARK: - Metrics

    func testMetricsByHand() {
        var m = RouterMetrics(layerCount: 2)
        // truth → predicted: (1→1) ×3, (0→1), (0→0), (1→0); no repeats anywhere.
        m.record(layer: 0, truth: 1, predicted: 1)
        m.record(layer: 1, truth: 1, predicted: 1)
        m.record(layer: 0, truth: 1, predicted: 1)
        m.record(layer: 1, truth: 0, predicted: 1)
        m.record(layer: 0, truth: 0, predicted: 0)
        m.record(layer: 1, truth: 1, predicted: 0)
        XCTAssertEqual(m.accuracy, 4.0 / 6.0, accuracy: 1e-12)
        XCTAssertEqual(m.perLayerAccuracy, [1.0, 1.0 / 3.0])
        XCTAssertEqual(m.recall(0)!, 0.5, accuracy: 1e-12)
        XCTAssertEqual(m.recall(1)!, 0.75, accuracy: 1e-12)
        XCTAssertNil(m.recall(2))
        XCTAssertNil(m.f1(2))
        // F1(skip) = 2·1/(2+2) = 0.5; F1(execute) = 2·3/(4+4) = 0.75; macro = 0.625 (repeat absent).
        XCTAssertEqual(m.macroF1, 0.625, accuracy: 1e-12)
        let d = m.dictionary(prefix: "heldout")
        XCTAssertEqual(d["heldout.macro_f1"]!, 0.625, accuracy: 1e-12)
        XCTAssertEqual(d["heldout.layer_accuracy.1"]!, 1.0 / 3.0, accuracy: 1e-12)
        XCTAssertNil(d["heldout.recall.repeat"])
    }

    func testSplitIsDeterministicAndDisjoint() {
        let a = RouterTrainer.split(count: 50, heldOutFraction: 0.2, seed: 3)
        let b = RouterTrainer.split(count: 50, heldOutFraction: 0.2, seed: 3)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.heldOut, b.heldOut)
        XCTAssertEqual(a.heldOut.count, 10)
        XCTAssertEqual(Set(a.train + a.heldOut), Set(0..<50))
        XCTAssertNotEqual(RouterTrainer.split(count: 50, heldOutFraction: 0.2, seed: 4).heldOut, a.heldOut)
        XCTAssertEqual(RouterTrainer.split(count: 3, heldOutFraction: 0.01, seed: 0).heldOut.count, 1)
        XCTAssertEqual(RouterTrainer.split(count: 1, heldOutFraction: 0.5, seed: 0).heldOut.count, 0)
    }

    // MARK: - End-to-end training

    /// Each layer's label is the argmax of the mean window vector's projection on three fixed
    /// directions (different per layer): separable by the router MLP.
    func separableExamples(count: Int, layers: Int, width: Int, seed: UInt64) -> [RouterTrainingExample] {
        var g = SplitMix64(seed: 1234)
        let directions = (0..<(layers * 3)).map { _ in (0..<width).map { _ in 2 * g.nextUnit() - 1 } }
        var r = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let windows = 1 + i % 4
            let base = (0..<width).map { _ in 2 * r.nextUnit() - 1 }
            var pooled: [Float] = []
            var labels: [Int] = []
            for l in 0..<layers {
                var windowSum = [Double](repeating: 0, count: width)
                for _ in 0..<windows {
                    let v = base.map { $0 + 0.05 * (2 * r.nextUnit() - 1) + Double(l) * 0.01 }
                    for k in 0..<width { windowSum[k] += v[k] }
                    pooled.append(contentsOf: v.map(Float.init))
                }
                let scores = (0..<3).map { c in zip(directions[l * 3 + c], windowSum).map(*).reduce(0, +) }
                labels.append(scores.firstIndex(of: scores.max()!)!)
            }
            return RouterTrainingExample(id: "s\(i)", layerCount: layers, windowCount: windows, width: width,
                                         pooled: pooled, labels: labels)
        }
    }

    func smallConfig(seed: UInt64) -> RouterTrainingConfig {
        var c = RouterTrainingConfig()
        c.epochs = 40
        c.batchSize = 16
        c.learningRate = 1e-2
        c.bottleneck = 16
        c.windows = 4
        c.heldOutFraction = 0.2
        c.seed = seed
        return c
    }

    func testTrainingOnSeparableDataReachesHighAccuracy() throws {
        let examples = separableExamples(count: 300, layers: 3, width: 12, seed: 8)
        var epochsSeen: [Int] = []
        let result = try RouterTrainer(config: smallConfig(seed: 1)).train(
            examples: examples, provenance: RouterProvenance(modelName: "synthetic", commandLine: "test")
        ) { epochsSeen.append($0.epoch) }
        XCTAssertEqual(epochsSeen, Array(1...40))
        let heldOut = try XCTUnwrap(result.heldOut)
        XCTAssertEqual(heldOut.examples, 60)
        XCTAssertGreaterThan(result.train.accuracy, 0.93)
        XCTAssertGreaterThan(heldOut.accuracy, 0.9)
        XCTAssertGreaterThan(heldOut.macroF1, 0.88)
        // Loss goes down.
        XCTAssertLessThan(result.history.last!.loss, result.history.first!.loss * 0.5)
        // Warm-up was clamped: 15 steps × 40 epochs = 600 steps, 10% = 60.
        XCTAssertEqual(result.warmupSteps, 60)
        // Metrics and settings land in the provenance.
        let prov = result.routers.provenance
        XCTAssertEqual(prov.modelName, "synthetic")
        XCTAssertEqual(prov.seed, 1)
        XCTAssertEqual(prov.metrics["heldout.accuracy"]!, heldOut.accuracy, accuracy: 1e-12)
        XCTAssertNotNil(prov.metrics["train.macro_f1"])
        XCTAssertEqual(prov.settings["training.epochs"], "40")
        XCTAssertEqual(prov.settings["training.warmup_steps_used"], "60")
        // The trained set is usable: validate and write/read.
        XCTAssertNoThrow(try result.routers.validate(layerCount: 3, width: 12))
        let back = try RouterSetFile.decode(try RouterSetFile.encode(result.routers), source: "mem")
        XCTAssertEqual(back, result.routers)
        XCTAssertEqual(RouterTrainer.evaluate(back, on: examples, indices: result.heldOutIndices), heldOut)
    }

    func testTrainingIsDeterministicForASeed() throws {
        let examples = separableExamples(count: 60, layers: 2, width: 6, seed: 3)
        var config = smallConfig(seed: 7)
        config.epochs = 3
        let a = try RouterTrainer(config: config).train(examples: examples)
        let b = try RouterTrainer(config: config).train(examples: examples)
        XCTAssertEqual(a.routers.routers.map { $0.parameters.map(\.bitPattern) },
                       b.routers.routers.map { $0.parameters.map(\.bitPattern) })
        XCTAssertEqual(a.routers.provenance, b.routers.provenance)
        XCTAssertEqual(a.history.map(\.loss), b.history.map(\.loss))
        config.seed = 8
        let c = try RouterTrainer(config: config).train(examples: examples)
        XCTAssertNotEqual(a.routers.routers[0].parameters, c.routers.routers[0].parameters)
    }

    func testTrainingRefusesBadData() {
        let trainer = RouterTrainer(config: smallConfig(seed: 0))
        XCTAssertThrowsError(try trainer.train(examples: [])) { error in
            XCTAssertEqual(error as? RoutingError, .emptyTrainingSet)
        }
        let good = separableExamples(count: 2, layers: 2, width: 4, seed: 1)
        let badLabel = RouterTrainingExample(id: "q7", layerCount: 2, windowCount: 1, width: 4,
                                             pooled: [Float](repeating: 0, count: 8), labels: [1, 3])
        XCTAssertThrowsError(try trainer.train(examples: good + [badLabel])) { error in
            guard case let .invalidTrainingExample(index, reason)? = error as? RoutingError else { return XCTFail("\(error)") }
            XCTAssertEqual(index, 2)
            XCTAssertTrue(reason.contains("q7") && reason.contains("layer 1"), reason)
        }
        let tooManyWindows = RouterTrainingExample(layerCount: 2, windowCount: 5, width: 4,
                                                   pooled: [Float](repeating: 0, count: 40), labels: [1, 1])
        XCTAssertThrowsError(try trainer.train(examples: good + [tooManyWindows]))
        let nan = RouterTrainingExample(layerCount: 2, windowCount: 1, width: 4,
                                        pooled: [0, 0, 0, .nan, 0, 0, 0, 0], labels: [1, 1])
        XCTAssertThrowsError(try trainer.train(examples: good + [nan]))
        var config = smallConfig(seed: 0)
        config.batchSize = 0
        XCTAssertThrowsError(try RouterTrainer(config: config).train(examples: good)) { error in
            XCTAssertEqual(error as? RoutingError, .invalidConfiguration(item: "training.batchSize", reason: "0 must be ≥ 1"))
        }
    }

    func testTrainingExampleWindowRuleCheck() {
        // 20 tokens pooled into 8 windows is right for routers with 8 windows, wrong for 16.
        let e = RouterTrainingExample(layerCount: 1, windowCount: 8, width: 1, pooled: [Float](repeating: 0, count: 8),
                                      labels: [1], tokens: 20)
        XCTAssertNoThrow(try e.check(index: 0, layerCount: 1, width: 1, maxWindows: 8))
        XCTAssertThrowsError(try e.check(index: 0, layerCount: 1, width: 1, maxWindows: 16))
    }

    func testConfigurationsFillMissingKeysWithDefaults() throws {
        let training = try JSONDecoder().decode(RouterTrainingConfig.self, from: Data(#"{"epochs": 3, "seed": 9}"#.utf8))
        var expected = RouterTrainingConfig()
        expected.epochs = 3
        expected.seed = 9
        XCTAssertEqual(training, expected)
        let mcts = try JSONDecoder().decode(MCTSConfig.self, from: Data(#"{"simulations": 10}"#.utf8))
        XCTAssertEqual(mcts, MCTSConfig(simulations: 10))
        let provenance = try JSONDecoder().decode(RouterProvenance.self, from: Data(#"{"modelName": "m"}"#.utf8))
        XCTAssertEqual(provenance, RouterProvenance(modelName: "m"))
        // And a full round trip through JSON.
        XCTAssertEqual(try JSONDecoder().decode(RouterTrainingConfig.self, from: JSONEncoder().encode(expected)), expected)
    }

    func testTrainingExampleFromPerLayerArrays() {
        let e = RouterTrainingExample(id: "a", layers: [[1, 2, 3, 4], [5, 6, 7, 8]], windowCount: 2, width: 2, labels: [0, 2])
        XCTAssertEqual(e.layerCount, 2)
        XCTAssertEqual(Array(e.windows(layer: 1)), [5, 6, 7, 8])
        XCTAssertNoThrow(try e.check(index: 0, layerCount: 2, width: 2, maxWindows: 8))
    }
}
