import Foundation

/// The paper's control knob (Dr.LLM App. C): before the argmax, each router's class probabilities
/// are blended with a one-hot distribution on one class,
///
///     p′ = (1 − α) · softmax(z) + α · e_toward.
///
/// Toward `execute`, a growing α moves decisions monotonically back to the full model (α > ½ is
/// the baseline exactly), trading saved layers for accuracy; toward `skip` it saves more layers.
/// A decision only ever flips *to* `toward` as α grows, never away from it.
public struct RouterBlend: Sendable, Hashable, CustomStringConvertible {
    /// α in [0, 1]; 0 is the plain router.
    public let weight: Float
    /// The class the one-hot distribution puts its mass on.
    public let toward: RoutingDecision

    /// Fails unless `weight` is a finite number in [0, 1].
    public init(weight: Float, toward: RoutingDecision = .execute) throws(RoutingError) {
        guard weight.isFinite, weight >= 0, weight <= 1 else {
            throw .invalidConfiguration(item: "router blend weight", reason: "\(weight) is not in [0, 1]")
        }
        self.weight = weight
        self.toward = toward
    }

    /// Parses the command-line form `ALPHA` (toward execute) or `CLASS:ALPHA` with CLASS one of
    /// skip, execute, repeat — e.g. `0.2`, `execute:0.2`, `skip:0.1`.
    public init(parsing text: String) throws(RoutingError) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let classText = parts.count == 2 ? parts[0] : "execute"
        guard parts.count <= 2, let weight = Float(parts[parts.count - 1]) else {
            throw .invalidConfiguration(item: "router blend '\(text)'",
                                        reason: "expected ALPHA or CLASS:ALPHA, e.g. 0.2 or skip:0.1")
        }
        guard let toward = RoutingDecision.allCases.first(where: { $0.name == classText }) else {
            throw .invalidConfiguration(item: "router blend '\(text)'",
                                        reason: "unknown class '\(classText)': expected skip, execute or repeat")
        }
        try self.init(weight: weight, toward: toward)
    }

    /// `CLASS:ALPHA`, the form `init(parsing:)` reads and run configurations record.
    public var description: String { "\(toward.name):\(weight)" }

    /// Argmax of the blended probabilities of `logits` (bias already added); ties go to the
    /// lowest class. α = 0 is the plain argmax of the logits (no softmax rounding in between).
    @inline(__always)
    func decide(logits z: SIMD3<Float>) -> Int {
        if weight == 0 { return Router.argmax(z) }
        let e = (z - SIMD3(repeating: z.max())).exp()
        var p = e / e.sum() * (1 - weight)
        p[toward.rawValue] += weight
        return Router.argmax(p)
    }
}

extension SIMD3 where Scalar == Float {
    /// Element-wise `expf`.
    @inline(__always)
    fileprivate func exp() -> SIMD3<Float> {
        SIMD3(Foundation.exp(self[0]), Foundation.exp(self[1]), Foundation.exp(self[2]))
    }
}
