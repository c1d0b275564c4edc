/// Agreement of router decisions with MCTS labels, over every (example, layer) decision.
///
/// Per-class scores treat the three decisions (skip, execute, repeat) as classes. A class that
/// occurs neither in the labels nor in the predictions has no F1 and is left out of the macro
/// average (otherwise a split without a single "repeat" label would be capped at 2/3); a class
/// with labels but no correct prediction counts with F1 = 0.
public struct RouterMetrics: Codable, Sendable, Equatable {
    /// Examples counted.
    public var examples: Int = 0
    /// `confusion[truth][predicted]`, 3 × 3.
    public var confusion: [[Int]] = Array(repeating: [0, 0, 0], count: 3)
    /// Correct decisions per layer.
    public var layerCorrect: [Int]
    /// Decisions per layer.
    public var layerTotal: [Int]

    /// Empty metrics for a model with `layerCount` blocks.
    public init(layerCount: Int) {
        layerCorrect = [Int](repeating: 0, count: layerCount)
        layerTotal = [Int](repeating: 0, count: layerCount)
    }

    /// Counts one decision.
    public mutating func record(layer: Int, truth: Int, predicted: Int) {
        confusion[truth][predicted] += 1
        layerTotal[layer] += 1
        if truth == predicted { layerCorrect[layer] += 1 }
    }

    /// All decisions counted.
    public var decisions: Int { layerTotal.reduce(0, +) }

    /// Fraction of decisions equal to the label (0 with no decisions).
    public var accuracy: Double {
        let total = decisions
        return total == 0 ? 0 : Double(layerCorrect.reduce(0, +)) / Double(total)
    }

    /// Accuracy of each layer's router (0 for a layer without decisions).
    public var perLayerAccuracy: [Double] {
        zip(layerCorrect, layerTotal).map { $1 == 0 ? 0 : Double($0) / Double($1) }
    }

    /// Labels of class `c`.
    public func support(_ c: Int) -> Int { confusion[c].reduce(0, +) }
    /// Predictions of class `c`.
    public func predicted(_ c: Int) -> Int { (0..<3).reduce(0) { $0 + confusion[$1][c] } }

    /// Recall of class `c`; nil when no label has that class.
    public func recall(_ c: Int) -> Double? {
        let s = support(c)
        return s == 0 ? nil : Double(confusion[c][c]) / Double(s)
    }

    /// Precision of class `c`; nil when nothing was predicted as that class.
    public func precision(_ c: Int) -> Double? {
        let p = predicted(c)
        return p == 0 ? nil : Double(confusion[c][c]) / Double(p)
    }

    /// F1 of class `c`; nil when the class is absent from both labels and predictions.
    public func f1(_ c: Int) -> Double? {
        let s = support(c), p = predicted(c), tp = confusion[c][c]
        if s == 0 && p == 0 { return nil }
        return tp == 0 ? 0 : 2 * Double(tp) / Double(s + p)
    }

    /// Mean F1 over the classes that occur (see the type's note); 0 with no decisions.
    public var macroF1: Double {
        let scores = (0..<3).compactMap { f1($0) }
        return scores.isEmpty ? 0 : scores.reduce(0, +) / Double(scores.count)
    }

    /// Flat numbers for provenance and reports, keys prefixed by `prefix` (e.g. `heldout`):
    /// `examples`, `decisions`, `accuracy`, `macro_f1`, `recall.<class>`, `precision.<class>`,
    /// `f1.<class>`, `support.<class>` and `layer_accuracy.<NN>`. Undefined scores are omitted.
    public func dictionary(prefix: String) -> [String: Double] {
        var d: [String: Double] = [
            "\(prefix).examples": Double(examples),
            "\(prefix).decisions": Double(decisions),
            "\(prefix).accuracy": accuracy,
            "\(prefix).macro_f1": macroF1,
        ]
        for decision in RoutingDecision.allCases {
            let c = decision.rawValue, name = decision.name
            d["\(prefix).support.\(name)"] = Double(support(c))
            if let r = recall(c) { d["\(prefix).recall.\(name)"] = r }
            if let p = precision(c) { d["\(prefix).precision.\(name)"] = p }
            if let f = f1(c) { d["\(prefix).f1.\(name)"] = f }
        }
        let digits = String(max(layerTotal.count - 1, 0)).count
        for (l, a) in perLayerAccuracy.enumerated() {
            let s = String(l)
            d["\(prefix).layer_accuracy.\(String(repeating: "0", count: max(0, digits - s.count)) + s)"] = a
        }
        return d
    }
}
