import Foundation

/// Focal loss with per-class weights (Lin et al. 2017), the router training loss (docs/METHOD.md §3):
/// `FL(z, y) = −α_y · (1 − p_y)^γ · log p_y` with `p = softmax(z)`.
///
/// Computed in `Double` internally (three classes, so it costs nothing) and returned as `Float`.
public struct FocalLoss: Sendable, Equatable {
    /// Focusing parameter γ (2 in the paper; 0 gives weighted cross-entropy).
    public var gamma: Double
    /// α per class (skip, execute, repeat).
    public var classWeights: SIMD3<Float>

    public init(gamma: Double = 2, classWeights: SIMD3<Float> = .one) {
        self.gamma = gamma
        self.classWeights = classWeights
    }

    /// Loss for `logits` with true class `target`.
    public func loss(logits: SIMD3<Float>, target: Int) -> Float {
        lossAndGradient(logits: logits, target: target).loss
    }

    /// Loss and its gradient with respect to the logits.
    ///
    /// With `p_t = p_y` and `q = 1 − p_t` (computed as the sum of the other probabilities, which
    /// stays accurate when `p_t` is close to 1):
    /// `∂FL/∂z_k = α_y · [γ·q^(γ−1)·p_t·log p_t − q^γ] · (δ_{yk} − p_k)`.
    public func lossAndGradient(logits: SIMD3<Float>, target: Int) -> (loss: Float, gradient: SIMD3<Float>) {
        precondition(target >= 0 && target < 3, "FocalLoss: target \(target) is not a class (0, 1, 2)")
        let z = [Double(logits[0]), Double(logits[1]), Double(logits[2])]
        let m = max(z[0], z[1], z[2])
        let e = z.map { Foundation.exp($0 - m) }
        let sum = e[0] + e[1] + e[2]
        let p = e.map { $0 / sum }
        let logPt = (z[target] - m) - Foundation.log(sum)
        let pt = p[target]
        var q = 0.0
        for k in 0..<3 where k != target { q += p[k] }
        let alpha = Double(classWeights[target])
        let qGamma = gamma == 0 ? 1 : Foundation.pow(q, gamma)
        let loss = -alpha * qGamma * logPt
        // γ·q^(γ−1) vanishes with γ = 0 and is taken as 0 at q = 0 for γ > 1 (its limit);
        // for 0 < γ < 1 at q = 0 the loss is flat in practice (p_t = 1 exactly), so 0 as well.
        let dq: Double = (gamma == 0 || q == 0) ? 0 : gamma * Foundation.pow(q, gamma - 1)
        let coefficient = alpha * (dq * pt * logPt - qGamma)
        var g = SIMD3<Float>.zero
        for k in 0..<3 {
            g[k] = Float(coefficient * ((k == target ? 1 : 0) - p[k]))
        }
        return (Float(loss), g)
    }

    /// Class-balanced weights ("effective number of samples", Cui et al. 2019):
    /// `α_c ∝ (1 − β) / (1 − β^{n_c})`, normalised so the weights of the classes that occur
    /// average 1 — with all three classes present they sum to 3, as the paper says.
    ///
    /// A class with `n_c = 0` gets weight 0: its formula is infinite, no training target carries
    /// it so its weight never enters the loss, and letting it into the normalisation would only
    /// shrink the others. With no counts at all, every weight is 1.
    public static func classBalancedWeights(counts: [Int], beta: Double = 0.999) -> SIMD3<Float> {
        precondition(counts.count == 3, "classBalancedWeights needs 3 counts")
        var raw = [Double](repeating: 0, count: 3)
        for c in 0..<3 where counts[c] > 0 {
            // β → 1 is inverse frequency (the formula's limit, 1/n); below 1 the denominator is positive.
            raw[c] = beta >= 1 ? 1 / Double(counts[c])
                : (1 - beta) / (1 - Foundation.pow(beta, Double(counts[c])))
        }
        let present = raw.filter { $0 > 0 }
        guard !present.isEmpty else { return .one }
        let total = present.reduce(0, +)
        let scale = Double(present.count) / total
        return SIMD3(Float(raw[0] * scale), Float(raw[1] * scale), Float(raw[2] * scale))
    }
}
