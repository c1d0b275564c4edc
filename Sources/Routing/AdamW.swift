import Foundation

/// AdamW (Loshchilov & Hutter 2019) for one flat parameter vector, in PyTorch's formulation:
///
/// ```
/// t += 1
/// θ ← θ · (1 − lr·wd)                       (decoupled weight decay)
/// m ← β1·m + (1 − β1)·g
/// v ← β2·v + (1 − β2)·g²
/// θ ← θ − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)
/// ```
///
/// Weight decay applies to every parameter, biases included, as `torch.optim.AdamW` does when
/// handed a module's `parameters()` (which is what the released training code does).
public struct AdamW: Sendable {
    /// β1 (first-moment decay).
    public var beta1: Float
    /// β2 (second-moment decay).
    public var beta2: Float
    /// ε added to the denominator.
    public var epsilon: Float
    /// Decoupled weight decay coefficient.
    public var weightDecay: Float
    /// Steps taken so far.
    public private(set) var step: Int = 0
    /// First-moment estimates.
    public private(set) var firstMoment: [Float]
    /// Second-moment estimates.
    public private(set) var secondMoment: [Float]

    public init(parameterCount: Int, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// One update of `parameters` with `gradient` at `learningRate`.
    public mutating func update(parameters: inout [Float], gradient: [Float], learningRate: Float) {
        precondition(parameters.count == firstMoment.count && gradient.count == firstMoment.count,
                     "AdamW: \(parameters.count) parameters / \(gradient.count) gradients, expected \(firstMoment.count)")
        step += 1
        let t = Double(step)
        let bias1 = 1 - Foundation.pow(Double(beta1), t)
        let bias2 = 1 - Foundation.pow(Double(beta2), t)
        let stepSize = Float(Double(learningRate) / bias1)
        let bias2Root = Float(bias2.squareRoot())
        let decay = 1 - learningRate * weightDecay
        let b1 = beta1, b2 = beta2, eps = epsilon
        parameters.withUnsafeMutableBufferPointer { p in
            gradient.withUnsafeBufferPointer { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        for i in 0..<p.count {
                            let gi = g[i]
                            p[i] *= decay
                            m[i] = b1 * m[i] + (1 - b1) * gi
                            v[i] = b2 * v[i] + (1 - b2) * gi * gi
                            p[i] -= stepSize * m[i] / (v[i].squareRoot() / bias2Root + eps)
                        }
                    }
                }
            }
        }
    }
}

/// Learning-rate schedule: linear warm-up, then cosine decay to zero (as Hugging Face's
/// `get_cosine_schedule_with_warmup`, except warm-up step `s` uses `(s + 1)/warmup` so the first
/// step already learns instead of spending an update at learning rate 0).
public struct CosineSchedule: Sendable, Equatable {
    /// Peak learning rate, reached at the end of warm-up.
    public var peak: Float
    /// Warm-up steps.
    public var warmupSteps: Int
    /// Total optimiser steps of the run.
    public var totalSteps: Int

    public init(peak: Float, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.warmupSteps = max(0, warmupSteps)
        self.totalSteps = max(1, totalSteps)
    }

    /// Warm-up clamped for small runs: `min(requested, ⌊maxFraction · totalSteps⌋)`.
    ///
    /// The paper's 500 warm-up steps assume ~5,600 steps (4,000 examples, batch 16, 25 epochs);
    /// on a small data set they would swallow the whole run at a low learning rate, so warm-up
    /// never takes more than `maxFraction` (10% by default) of the steps.
    public static func clampedWarmup(requested: Int, totalSteps: Int, maxFraction: Double) -> Int {
        max(0, min(requested, Int((maxFraction * Double(totalSteps)).rounded(.down))))
    }

    /// Learning rate of (0-based) optimiser step `step`.
    public func learningRate(step: Int) -> Float {
        if step < warmupSteps {
            return peak * Float(step + 1) / Float(warmupSteps)
        }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(span))
        return Float(Double(peak) * 0.5 * (1 + Foundation.cos(Double.pi * progress)))
    }
}
