import Foundation
import Reports
import Routing
import Runs
import Support

/// The report of one router training: held-out scores beside what always "execute" scores on the
/// same decisions, per layer, and the training curve (Markdown, CSV of the curve, two SVG plots).
public struct RouterTrainingReport: Sendable {
    public var model: String
    public var records: String
    public var command: String
    public var examples: Int
    public var trainExamples: Int
    public var heldOutExamples: Int
    public var train: RouterMetrics
    public var heldOut: RouterMetrics?
    public var trainAlwaysExecute: RouterMetrics
    public var heldOutAlwaysExecute: RouterMetrics?
    /// Per epoch: loss, training-pass accuracy and macro-F1, held-out accuracy and macro-F1.
    public var curve: [(epoch: Int, loss: Double, trainAccuracy: Double, trainMacroF1: Double,
                        heldOutAccuracy: Double?, heldOutMacroF1: Double?)]

    /// The report of `result`, trained on `examples` (the same list given to the trainer).
    public init(model: String, records: String, command: String, examples: [RouterTrainingExample], result: RouterTrainingResult) {
        self.model = model
        self.records = records
        self.command = command
        self.examples = examples.count
        trainExamples = result.trainIndices.count
        heldOutExamples = result.heldOutIndices.count
        train = result.train
        heldOut = result.heldOut
        let layers = result.routers.layerCount
        trainAlwaysExecute = RouterTrainer.constant(.execute, on: examples, indices: result.trainIndices, layerCount: layers)
        heldOutAlwaysExecute = result.heldOutIndices.isEmpty ? nil
            : RouterTrainer.constant(.execute, on: examples, indices: result.heldOutIndices, layerCount: layers)
        curve = result.history.map { ($0.epoch, $0.loss, $0.train.accuracy, $0.train.macroF1, $0.heldOut?.accuracy, $0.heldOut?.macroF1) }
    }

    private static func f(_ x: Double) -> String { NumberText.fixed(x, 3) }

    /// The Markdown report.
    public func markdown() -> String {
        var out = "# \(model): router training\n\n"
        out += "Command: `\(command)`\n\n"
        out += "\(examples) kept MCTS records of `\(records)`: \(trainExamples) for training, \(heldOutExamples) held out "
        out += "(seeded split). Scores are over every (example, block) decision, with the routers' inference path.\n\n"
        var table = MarkdownTable(header: ["split", "decisions", "routers: accuracy", "always execute: accuracy",
                                           "routers: macro-F1", "always execute: macro-F1"],
                                  alignments: [.left] + Array(repeating: .right, count: 5), rows: [])
        table.rows.append(["train", String(train.decisions), Self.f(train.accuracy), Self.f(trainAlwaysExecute.accuracy),
                           Self.f(train.macroF1), Self.f(trainAlwaysExecute.macroF1)])
        if let h = heldOut, let e = heldOutAlwaysExecute {
            table.rows.append(["held-out", String(h.decisions), Self.f(h.accuracy), Self.f(e.accuracy), Self.f(h.macroF1), Self.f(e.macroF1)])
        }
        out += table.render() + "\n"
        if let h = heldOut, let e = heldOutAlwaysExecute {
            let verdict = h.accuracy > e.accuracy
                ? "The routers score above always \"execute\" on held-out accuracy"
                : "The routers do **not** beat always \"execute\" on held-out accuracy"
            out += "\(verdict) (\(Self.f(h.accuracy)) vs \(Self.f(e.accuracy))); held-out macro-F1 \(Self.f(h.macroF1)) vs \(Self.f(e.macroF1)).\n\n"
            out += "### Held-out, per decision class\n\n"
            var classes = MarkdownTable(header: ["class", "labels", "predicted", "recall", "precision", "F1"],
                                        alignments: [.left] + Array(repeating: .right, count: 5), rows: [])
            for d in RoutingDecision.allCases {
                let c = d.rawValue
                classes.rows.append([d.name, String(h.support(c)), String(h.predicted(c)), h.recall(c).map(Self.f) ?? "—",
                                     h.precision(c).map(Self.f) ?? "—", h.f1(c).map(Self.f) ?? "—"])
            }
            out += classes.render() + "\n"
            out += "### Held-out accuracy per block\n\n"
            var layers = MarkdownTable(header: ["block", "routers", "always execute", "difference"],
                                       alignments: [.right, .right, .right, .right], rows: [])
            for (l, (a, b)) in zip(h.perLayerAccuracy, e.perLayerAccuracy).enumerated() {
                layers.rows.append([String(l), Self.f(a), Self.f(b), NumberText.fixed(a - b, 3, signed: true)])
            }
            out += layers.render() + "\n"
        }
        out += "Curve: `router-training.csv` (per epoch), plotted in `router-training-accuracy.svg` and `router-training-loss.svg`. "
        out += "The training-pass numbers are the decisions made while the weights changed within the epoch.\n"
        return out
    }

    /// The training curve, one row per epoch.
    public func csv() -> String {
        CSVText.table(header: ["epoch", "loss", "train_accuracy", "train_macro_f1", "heldout_accuracy", "heldout_macro_f1",
                               "heldout_always_execute_accuracy", "heldout_always_execute_macro_f1"],
                      rows: curve.map { [String($0.epoch), NumberText.exact($0.loss), NumberText.exact($0.trainAccuracy),
                                         NumberText.exact($0.trainMacroF1), NumberText.exact($0.heldOutAccuracy),
                                         NumberText.exact($0.heldOutMacroF1), NumberText.exact(heldOutAlwaysExecute?.accuracy),
                                         NumberText.exact(heldOutAlwaysExecute?.macroF1)] })
    }

    /// Accuracy and macro-F1 per epoch, with always "execute" as dashed lines.
    public func accuracySVG() -> String {
        let epochs = curve.map { Double($0.epoch) }
        var series: [ChartSeries] = [ChartSeries(name: "train acc", color: "#9e9e9e"), ChartSeries(name: "train F1", color: "#c7c7c7")]
        var points: [[(x: Double, y: Double)]] = [zip(epochs, curve.map(\.trainAccuracy)).map { ($0, $1) },
                                                 zip(epochs, curve.map(\.trainMacroF1)).map { ($0, $1) }]
        if let e = heldOutAlwaysExecute {
            series += [ChartSeries(name: "held-out acc", color: "#1f77b4"), ChartSeries(name: "held-out F1", color: "#ff7f0e"),
                       ChartSeries(name: "execute acc", color: "#1f77b4", dashed: true),
                       ChartSeries(name: "execute F1", color: "#ff7f0e", dashed: true)]
            points.append(zip(epochs, curve.map { $0.heldOutAccuracy ?? 0 }).map { ($0, $1) })
            points.append(zip(epochs, curve.map { $0.heldOutMacroF1 ?? 0 }).map { ($0, $1) })
            points.append(epochs.map { ($0, e.accuracy) })
            points.append(epochs.map { ($0, e.macroF1) })
        }
        return Charts.lineChartSVG(title: "\(model): router training", subtitle: "accuracy and macro-F1 per epoch; dashed: always \"execute\"",
                                   xLabel: "epoch", yLabel: "score", series: series, points: points, yRange: 0...1)
    }

    /// Training loss per epoch.
    public func lossSVG() -> String {
        Charts.lineChartSVG(title: "\(model): router training loss", subtitle: "mean focal loss over the epoch's examples",
                            xLabel: "epoch", yLabel: "loss", series: [ChartSeries(name: "train loss", color: "#1f77b4")],
                            points: [curve.map { (Double($0.epoch), $0.loss) }])
    }

    /// Writes `router-training.md`, `.csv`, `-accuracy.svg` and `-loss.svg` under `folder`
    /// (atomically); returns the Markdown file.
    @discardableResult
    public func write(folder: URL) throws -> URL {
        try FileOperations.ensureWritableFolder(folder)
        let md = folder.appendingPathComponent("router-training.md")
        try FileOperations.writeAtomically(Data(markdown().utf8), to: md)
        try FileOperations.writeAtomically(Data(csv().utf8), to: folder.appendingPathComponent("router-training.csv"))
        try FileOperations.writeAtomically(Data(accuracySVG().utf8), to: folder.appendingPathComponent("router-training-accuracy.svg"))
        try FileOperations.writeAtomically(Data(lossSVG().utf8), to: folder.appendingPathComponent("router-training-loss.svg"))
        return md
    }
}
