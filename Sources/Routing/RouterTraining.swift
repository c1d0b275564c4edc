import CBLAS
import Foundation
import Support

/// Settings of router training (docs/METHOD.md §3). Defaults are the paper's.
public struct RouterTrainingConfig: Codable, Sendable, Equatable {
    /// Passes over the training split.
    public var epochs: Int = 25
    /// Examples per optimiser step (the last batch of an epoch may be smaller).
    public var batchSize: Int = 16
    /// Peak learning rate.
    public var learningRate: Float = 1e-3
    /// AdamW decoupled weight decay.
    public var weightDecay: Float = 0.01
    /// AdamW β1.
    public var beta1: Float = 0.9
    /// AdamW β2.
    public var beta2: Float = 0.999
    /// AdamW ε.
    public var epsilon: Float = 1e-8
    /// Requested linear warm-up steps (clamped by `maxWarmupFraction`).
    public var warmupSteps: Int = 500
    /// Warm-up never exceeds this fraction of all steps (see `CosineSchedule.clampedWarmup`).
    public var maxWarmupFraction: Double = 0.1
    /// Focal-loss γ.
    public var focalGamma: Double = 2
    /// β of the class-balanced weights.
    public var classBalanceBeta: Double = 0.999
    /// Fraction of examples held out for evaluation (0 for none).
    public var heldOutFraction: Double = 0.1
    /// Seed for initialisation, the split and the shuffles.
    public var seed: UInt64 = 0
    /// Router MLP hidden size.
    public var bottleneck: Int = 128
    /// Maximum pooling windows (must match how the examples were pooled).
    public var windows: Int = 8
    /// Evaluate the held-out split after every epoch (for the progress callback).
    public var evaluateEachEpoch: Bool = true

    /// The paper's settings.
    public init() {}

    /// Missing keys take their defaults (so a stored configuration survives new settings).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RouterTrainingConfig()
        epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? d.epochs
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? d.learningRate
        weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? d.weightDecay
        beta1 = try c.decodeIfPresent(Float.self, forKey: .beta1) ?? d.beta1
        beta2 = try c.decodeIfPresent(Float.self, forKey: .beta2) ?? d.beta2
        epsilon = try c.decodeIfPresent(Float.self, forKey: .epsilon) ?? d.epsilon
        warmupSteps = try c.decodeIfPresent(Int.self, forKey: .warmupSteps) ?? d.warmupSteps
        maxWarmupFraction = try c.decodeIfPresent(Double.self, forKey: .maxWarmupFraction) ?? d.maxWarmupFraction
        focalGamma = try c.decodeIfPresent(Double.self, forKey: .focalGamma) ?? d.focalGamma
        classBalanceBeta = try c.decodeIfPresent(Double.self, forKey: .classBalanceBeta) ?? d.classBalanceBeta
        heldOutFraction = try c.decodeIfPresent(Double.self, forKey: .heldOutFraction) ?? d.heldOutFraction
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        bottleneck = try c.decodeIfPresent(Int.self, forKey: .bottleneck) ?? d.bottleneck
        windows = try c.decodeIfPresent(Int.self, forKey: .windows) ?? d.windows
        evaluateEachEpoch = try c.decodeIfPresent(Bool.self, forKey: .evaluateEachEpoch) ?? d.evaluateEachEpoch
    }

    /// Refuses values outside their meaningful range.
    public func check() throws(RoutingError) {
        func bad(_ item: String, _ reason: String) -> RoutingError { .invalidConfiguration(item: "training.\(item)", reason: reason) }
        if epochs < 1 { throw bad("epochs", "\(epochs) must be ≥ 1") }
        if batchSize < 1 { throw bad("batchSize", "\(batchSize) must be ≥ 1") }
        if !(learningRate > 0 && learningRate.isFinite) { throw bad("learningRate", "\(learningRate) must be > 0") }
        if !(weightDecay >= 0) { throw bad("weightDecay", "\(weightDecay) must be ≥ 0") }
        if !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) { throw bad("betas", "must be in [0, 1)") }
        if !(epsilon > 0) { throw bad("epsilon", "\(epsilon) must be > 0") }
        if warmupSteps < 0 { throw bad("warmupSteps", "\(warmupSteps) must be ≥ 0") }
        if !(maxWarmupFraction >= 0 && maxWarmupFraction <= 1) { throw bad("maxWarmupFraction", "\(maxWarmupFraction) must be in [0, 1]") }
        if !(focalGamma >= 0) { throw bad("focalGamma", "\(focalGamma) must be ≥ 0") }
        if !(classBalanceBeta >= 0 && classBalanceBeta <= 1) { throw bad("classBalanceBeta", "\(classBalanceBeta) must be in [0, 1]") }
        if !(heldOutFraction >= 0 && heldOutFraction < 1) { throw bad("heldOutFraction", "\(heldOutFraction) must be in [0, 1)") }
        if bottleneck < 1 { throw bad("bottleneck", "\(bottleneck) must be ≥ 1") }
        if windows < 1 { throw bad("windows", "\(windows) must be ≥ 1") }
    }

    /// The settings as text, for `RouterProvenance.settings`.
    public var settings: [String: String] {
        [
            "training.epochs": "\(epochs)", "training.batch_size": "\(batchSize)",
            "training.learning_rate": "\(learningRate)", "training.weight_decay": "\(weightDecay)",
            "training.betas": "\(beta1),\(beta2)", "training.epsilon": "\(epsilon)",
            "training.warmup_steps": "\(warmupSteps)", "training.max_warmup_fraction": "\(maxWarmupFraction)",
            "training.focal_gamma": "\(focalGamma)", "training.class_balance_beta": "\(classBalanceBeta)",
            "training.heldout_fraction": "\(heldOutFraction)", "training.seed": "\(seed)",
            "training.schedule": "linear warm-up, cosine decay to 0",
            "training.loss": "focal, class-balanced alpha, mean over examples and layers",
        ]
    }
}

/// What the progress callback receives after each epoch.
public struct RouterTrainingProgress: Sendable {
    /// 1-based epoch just finished.
    public var epoch: Int
    /// Total epochs.
    public var epochs: Int
    /// Optimiser steps taken so far.
    public var step: Int
    /// Total optimiser steps of the run.
    public var totalSteps: Int
    /// Mean training loss over the epoch's examples (each example's loss averaged over layers).
    public var loss: Double
    /// Learning rate of the epoch's last step.
    public var learningRate: Float
    /// Decisions made during the epoch's forward passes (weights changing as it went).
    public var train: RouterMetrics
    /// Held-out metrics after the epoch (nil without a held-out split or when disabled).
    public var heldOut: RouterMetrics?
}

/// The outcome of `RouterTrainer.train`.
public struct RouterTrainingResult: Sendable {
    /// Trained routers; their provenance carries the metrics and settings.
    public var routers: RouterSet
    /// Final metrics on the training split (inference path, final weights).
    public var train: RouterMetrics
    /// Final metrics on the held-out split, if any.
    public var heldOut: RouterMetrics?
    /// Focal-loss class weights used (skip, execute, repeat).
    public var classWeights: SIMD3<Float>
    /// Label counts of the training split (skip, execute, repeat).
    public var trainLabelCounts: [Int]
    /// Indices (into the examples given) of the training and held-out splits.
    public var trainIndices: [Int]
    public var heldOutIndices: [Int]
    /// Warm-up steps actually used (after clamping).
    public var warmupSteps: Int
    /// One entry per epoch.
    public var history: [RouterTrainingProgress]
}

/// Trains all L routers jointly on cached, teacher-forced pooled windows (docs/METHOD.md §3).
///
/// - Loss: focal loss (γ = 2) with class-balanced α computed from the training split's labels
///   over all layers, averaged over the batch's examples and over layers.
/// - Optimiser: AdamW per router, cosine schedule with linear warm-up (clamped on small runs).
/// - Split: a seeded permutation of the examples' positions; the first `round(f·N)` (at least 1
///   when f > 0 and N ≥ 2, never all) are held out. The split depends on the order of the
///   examples given, so the harness should pass them in a stable order (e.g. the MCTS records').
/// - Batches: the training split is reshuffled every epoch from one seeded stream.
/// - Forward and backward for a batch and a layer run through `cblas_sgemm` (rows = all windows
///   of the batch). Metrics, by contrast, use the exact inference path (`RouterSet.decide`), so
///   reported numbers are what deployment will do.
public struct RouterTrainer: Sendable {
    /// Training settings.
    public var config: RouterTrainingConfig

    public init(config: RouterTrainingConfig = RouterTrainingConfig()) {
        self.config = config
    }

    /// Trains routers for a model with the examples' `layerCount` and `width`.
    ///
    /// `provenance` is copied into the result with `seed`, `metrics` and `settings` filled in.
    public func train(examples: [RouterTrainingExample], provenance: RouterProvenance = RouterProvenance(),
                      progress: ((RouterTrainingProgress) -> Void)? = nil) throws(RoutingError) -> RouterTrainingResult {
        try config.check()
        guard let first = examples.first else { throw .emptyTrainingSet }
        let hp = RouterHyperParameters(layerCount: first.layerCount, width: first.width,
                                       bottleneck: config.bottleneck, windows: config.windows)
        try hp.check(source: "training data")
        for (i, e) in examples.enumerated() {
            try e.check(index: i, layerCount: hp.layerCount, width: hp.width, maxWindows: hp.windows)
        }
        let L = hp.layerCount
        let (trainIndices, heldOutIndices) = RouterTrainer.split(count: examples.count,
                                                                 heldOutFraction: config.heldOutFraction,
                                                                 seed: config.seed)
        var counts = [0, 0, 0]
        for i in trainIndices { for y in examples[i].labels { counts[y] += 1 } }
        let weights = FocalLoss.classBalancedWeights(counts: counts, beta: config.classBalanceBeta)
        let loss = FocalLoss(gamma: config.focalGamma, classWeights: weights)

        var set = try RouterSet(hyperParameters: hp, seed: config.seed)
        var parameters = set.routers.map(\.parameters)
        var optimisers = (0..<L).map { _ in
            AdamW(parameterCount: hp.parametersPerRouter, beta1: config.beta1, beta2: config.beta2,
                  epsilon: config.epsilon, weightDecay: config.weightDecay)
        }
        let stepsPerEpoch = (trainIndices.count + config.batchSize - 1) / config.batchSize
        let totalSteps = stepsPerEpoch * config.epochs
        let warmup = CosineSchedule.clampedWarmup(requested: config.warmupSteps, totalSteps: totalSteps,
                                                  maxFraction: config.maxWarmupFraction)
        let schedule = CosineSchedule(peak: config.learningRate, warmupSteps: warmup, totalSteps: totalSteps)
        var shuffler = SplitMix64(seed: SplitMix64.derive(config.seed, "shuffle"))
        let buffers = ObjectiveBuffers(rows: config.batchSize * hp.windows, width: hp.width, bottleneck: hp.bottleneck)
        var gradient = [Float](repeating: 0, count: hp.parametersPerRouter)
        let layout = RouterParameterLayout(width: hp.width, bottleneck: hp.bottleneck)

        var history: [RouterTrainingProgress] = []
        var step = 0
        var lastRate: Float = 0
        for epoch in 1...config.epochs {
            var order = trainIndices
            shuffler.shuffle(&order)
            var running = RouterMetrics(layerCount: L)
            running.examples = order.count
            var lossSum = 0.0
            var start = 0
            while start < order.count {
                let batch = Array(order[start..<min(start + config.batchSize, order.count)])
                start += batch.count
                lastRate = schedule.learningRate(step: step)
                let scale = 1 / Float(batch.count * L)
                for l in 0..<L {
                    let layerLoss = RouterObjective.layerLossAndGradient(
                        parameters: parameters[l], layout: layout, layer: l, batch: batch, examples: examples,
                        loss: loss, scale: scale, buffers: buffers, gradient: &gradient, metrics: &running)
                    lossSum += layerLoss / Double(L)
                    optimisers[l].update(parameters: &parameters[l], gradient: gradient, learningRate: lastRate)
                }
                step += 1
            }
            var heldOut: RouterMetrics?
            if config.evaluateEachEpoch && !heldOutIndices.isEmpty {
                set.setParameters(parameters)
                heldOut = RouterTrainer.evaluate(set, on: examples, indices: heldOutIndices)
            }
            let report = RouterTrainingProgress(epoch: epoch, epochs: config.epochs, step: step, totalSteps: totalSteps,
                                                loss: order.isEmpty ? 0 : lossSum / Double(order.count),
                                                learningRate: lastRate, train: running, heldOut: heldOut)
            history.append(report)
            progress?(report)
        }

        set.setParameters(parameters)
        let trainMetrics = RouterTrainer.evaluate(set, on: examples, indices: trainIndices)
        let heldOutMetrics = heldOutIndices.isEmpty ? nil : RouterTrainer.evaluate(set, on: examples, indices: heldOutIndices)

        var prov = provenance
        prov.seed = config.seed
        var metrics = trainMetrics.dictionary(prefix: "train")
        if let h = heldOutMetrics { metrics.merge(h.dictionary(prefix: "heldout")) { $1 } }
        // What always "execute" scores on the same decisions, so a reader can tell whether the
        // routers learned more than the majority class.
        for (prefix, indices) in [("train_always_execute", trainIndices), ("heldout_always_execute", heldOutIndices)] where !indices.isEmpty {
            let m = RouterTrainer.constant(.execute, on: examples, indices: indices, layerCount: L)
            metrics["\(prefix).accuracy"] = m.accuracy
            metrics["\(prefix).macro_f1"] = m.macroF1
        }
        if let lastLoss = history.last?.loss { metrics["train.final_loss"] = lastLoss }
        for d in RoutingDecision.allCases {
            metrics["class_weight.\(d.name)"] = Double(weights[d.rawValue])
            metrics["train.labels.\(d.name)"] = Double(counts[d.rawValue])
        }
        prov.metrics.merge(metrics) { $1 }
        prov.settings.merge(config.settings) { $1 }
        prov.settings["training.warmup_steps_used"] = "\(warmup)"
        prov.settings["training.total_steps"] = "\(totalSteps)"
        set.provenance = prov

        return RouterTrainingResult(routers: set, train: trainMetrics, heldOut: heldOutMetrics, classWeights: weights,
                                    trainLabelCounts: counts, trainIndices: trainIndices, heldOutIndices: heldOutIndices,
                                    warmupSteps: warmup, history: history)
    }

    /// The deterministic split: positions permuted by `SplitMix64.derive(seed, "split")`; the
    /// first `round(f·N)` (clamped to 1…N−1 when f > 0 and N ≥ 2) are held out. Both lists are
    /// returned in ascending order.
    public static func split(count: Int, heldOutFraction: Double, seed: UInt64) -> (train: [Int], heldOut: [Int]) {
        var heldOutCount = 0
        if heldOutFraction > 0 && count >= 2 {
            // Never empty (a requested held-out split should exist) and never everything.
            heldOutCount = min(max(Int((heldOutFraction * Double(count)).rounded()), 1), count - 1)
        }
        var order = Array(0..<count)
        var g = SplitMix64(seed: SplitMix64.derive(seed, "split"))
        g.shuffle(&order)
        return (Array(order[heldOutCount...]).sorted(), Array(order[..<heldOutCount]).sorted())
    }

    /// Agreement of `set`'s decisions (inference path, including its `bias`) with the labels.
    public static func evaluate(_ set: RouterSet, on examples: [RouterTrainingExample], indices: [Int]? = nil) -> RouterMetrics {
        var m = RouterMetrics(layerCount: set.layerCount)
        for i in indices ?? Array(examples.indices) {
            let e = examples[i]
            m.examples += 1
            let n = e.windowCount * e.width
            e.pooled.withUnsafeBufferPointer { p in
                for l in 0..<min(set.layerCount, e.layerCount) {
                    let windows = UnsafeBufferPointer(rebasing: p[(l * n)..<((l + 1) * n)])
                    m.record(layer: l, truth: e.labels[l], predicted: set.decide(layer: l, pooled: windows, windowCount: e.windowCount))
                }
            }
        }
        return m
    }

    /// Metrics of a rule that predicts `decision` for every block of every example (e.g. always
    /// "execute", the baseline a router must beat to have learned anything).
    public static func constant(_ decision: RoutingDecision, on examples: [RouterTrainingExample], indices: [Int]? = nil,
                                layerCount: Int) -> RouterMetrics {
        var m = RouterMetrics(layerCount: layerCount)
        for i in indices ?? Array(examples.indices) {
            m.examples += 1
            for l in 0..<min(layerCount, examples[i].layerCount) {
                m.record(layer: l, truth: examples[i].labels[l], predicted: decision.rawValue)
            }
        }
        return m
    }
}

extension RouterSet {
    /// Replaces every router's parameters (same shapes); used by training.
    mutating func setParameters(_ parameters: [[Float]]) {
        precondition(parameters.count == routers.count)
        for l in routers.indices {
            precondition(parameters[l].count == routers[l].parameters.count)
            routers[l].parameters = parameters[l]
        }
    }
}

/// The training objective, exposed so tests (and curious users) can check it: the focal loss of
/// a batch, averaged over examples and layers, and its gradient with respect to every router
/// parameter.
public enum RouterObjective {
    /// Loss (mean over examples and layers) and per-layer gradients (each in
    /// `RouterParameterLayout` order) for `routers` on `examples`, all in one batch.
    public static func lossAndGradients(routers: RouterSet, examples: [RouterTrainingExample],
                                        loss: FocalLoss) -> (loss: Float, gradients: [[Float]]) {
        let hp = routers.hyperParameters
        let maxWindows = examples.map(\.windowCount).max() ?? 1
        let buffers = ObjectiveBuffers(rows: max(1, examples.count * maxWindows), width: hp.width, bottleneck: hp.bottleneck)
        let layout = RouterParameterLayout(width: hp.width, bottleneck: hp.bottleneck)
        let batch = Array(examples.indices)
        let scale = 1 / Float(max(1, examples.count) * hp.layerCount)
        var metrics = RouterMetrics(layerCount: hp.layerCount)
        var total = 0.0
        var gradients: [[Float]] = []
        for l in 0..<hp.layerCount {
            var g = [Float](repeating: 0, count: layout.count)
            total += layerLossAndGradient(parameters: routers.routers[l].parameters, layout: layout, layer: l, batch: batch,
                                          examples: examples, loss: loss, scale: scale, buffers: buffers,
                                          gradient: &g, metrics: &metrics)
            gradients.append(g)
        }
        return (Float(total * Double(scale)), gradients)
    }

    /// One layer's forward and backward over a batch. Returns the layer's summed (unscaled) loss;
    /// writes `scale ×` its gradient into `gradient` (overwriting) and records the decisions.
    static func layerLossAndGradient(parameters: [Float], layout: RouterParameterLayout, layer: Int, batch: [Int],
                                     examples: [RouterTrainingExample], loss: FocalLoss, scale: Float,
                                     buffers: ObjectiveBuffers, gradient: inout [Float],
                                     metrics: inout RouterMetrics) -> Double {
        let d = layout.width, h = layout.bottleneck
        var rowStart: [Int] = []
        rowStart.reserveCapacity(batch.count)
        var rows = 0
        for i in batch {
            rowStart.append(rows)
            rows += examples[i].windowCount
        }
        precondition(rows <= buffers.rows, "batch has \(rows) window rows, buffers hold \(buffers.rows)")
        let x = buffers.x, z1 = buffers.z1, act = buffers.act, dz1 = buffers.dz1

        // Gather the batch's windows for this layer: rows of X are windows, example after example.
        for (b, i) in batch.enumerated() {
            let e = examples[i]
            let n = e.windowCount * d
            e.pooled.withUnsafeBufferPointer { src in
                (x + rowStart[b] * d).update(from: src.baseAddress! + layer * n, count: n)
            }
        }
        var total = 0.0
        parameters.withUnsafeBufferPointer { pp in
            let p = pp.baseAddress!
            let w1 = p + layout.w1.lowerBound, b1 = p + layout.b1.lowerBound
            let w2 = p + layout.w2.lowerBound, b2 = p + layout.b2.lowerBound
            // Z1 = X · W1ᵀ  ([rows × d] · [d × h]).
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(h), Int32(d),
                        1, x, Int32(d), w1, Int32(d), 0, z1, Int32(h))
            for r in 0..<rows {
                for j in 0..<h {
                    let z = z1[r * h + j] + b1[j]
                    z1[r * h + j] = z
                    act[r * h + j] = GELU.value(z)
                }
            }
            gradient.withUnsafeMutableBufferPointer { gp in
                let g = gp.baseAddress!
                let gw1 = g + layout.w1.lowerBound, gb1 = g + layout.b1.lowerBound
                let gw2 = g + layout.w2.lowerBound, gb2 = g + layout.b2.lowerBound
                for k in layout.b1.lowerBound..<layout.count { g[k] = 0 }
                for (b, i) in batch.enumerated() {
                    let e = examples[i]
                    let windows = e.windowCount
                    // Logits averaged over the example's windows, as in inference.
                    var sum = SIMD3<Float>.zero
                    for r in rowStart[b]..<(rowStart[b] + windows) {
                        var l0: Float = 0, l1: Float = 0, l2: Float = 0
                        for j in 0..<h {
                            let a = act[r * h + j]
                            l0 += w2[j] * a
                            l1 += w2[h + j] * a
                            l2 += w2[2 * h + j] * a
                        }
                        sum += SIMD3(b2[0] + l0, b2[1] + l1, b2[2] + l2)
                    }
                    let logits = sum / Float(windows)
                    let target = e.labels[layer]
                    let (value, dLogits) = loss.lossAndGradient(logits: logits, target: target)
                    total += Double(value)
                    metrics.record(layer: layer, truth: target, predicted: Router.decision(logits: logits))
                    // Each window row receives 1/W of the averaged logits' gradient.
                    let dz2 = dLogits * (scale / Float(windows))
                    for r in rowStart[b]..<(rowStart[b] + windows) {
                        gb2[0] += dz2[0]
                        gb2[1] += dz2[1]
                        gb2[2] += dz2[2]
                        for j in 0..<h {
                            let a = act[r * h + j]
                            gw2[j] += dz2[0] * a
                            gw2[h + j] += dz2[1] * a
                            gw2[2 * h + j] += dz2[2] * a
                            let dA = dz2[0] * w2[j] + dz2[1] * w2[h + j] + dz2[2] * w2[2 * h + j]
                            let dz = dA * GELU.derivative(z1[r * h + j])
                            dz1[r * h + j] = dz
                            gb1[j] += dz
                        }
                    }
                }
                // dW1 = dZ1ᵀ · X  ([h × rows] · [rows × d]).
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(h), Int32(d), Int32(rows),
                            1, dz1, Int32(h), x, Int32(d), 0, gw1, Int32(d))
            }
        }
        return total
    }
}

/// Scratch matrices for one batch of window rows, allocated once per training run.
///
/// A class holding raw buffers (rather than arrays in a struct) so the forward and backward
/// passes can hand several of them to BLAS at once without exclusivity gymnastics. Never shared
/// across threads.
final class ObjectiveBuffers {
    let rows: Int
    let x: UnsafeMutablePointer<Float>
    let z1: UnsafeMutablePointer<Float>
    let act: UnsafeMutablePointer<Float>
    let dz1: UnsafeMutablePointer<Float>

    init(rows: Int, width: Int, bottleneck: Int) {
        self.rows = rows
        x = .allocate(capacity: rows * width)
        z1 = .allocate(capacity: rows * bottleneck)
        act = .allocate(capacity: rows * bottleneck)
        dz1 = .allocate(capacity: rows * bottleneck)
        x.initialize(repeating: 0, count: rows * width)
        z1.initialize(repeating: 0, count: rows * bottleneck)
        act.initialize(repeating: 0, count: rows * bottleneck)
        dz1.initialize(repeating: 0, count: rows * bottleneck)
    }

    deinit {
        x.deallocate()
        z1.deallocate()
        act.deallocate()
        dz1.deallocate()
    }
}
