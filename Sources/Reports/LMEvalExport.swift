import Benchmarks
import Foundation
import Runs
import Support

/// A file an exporter writes: its name inside the output folder and its bytes.
public struct ExportedFile: Sendable, Equatable {
    public var name: String
    public var contents: Data
    public init(name: String, contents: Data) {
        self.name = name
        self.contents = contents
    }
}

/// One task of a run, as an exporter sees it: the summary, the records in document order, and
/// the benchmark loaded as the run loaded it (documents and requests are rebuilt from it).
public struct ExportedTask: Sendable {
    public var summary: TaskSummary
    public var records: [ExampleRecord]
    public var benchmark: LoadedBenchmark
    public init(summary: TaskSummary, records: [ExampleRecord], benchmark: LoadedBenchmark) {
        self.summary = summary
        self.records = records
        self.benchmark = benchmark
    }
}

/// A format a run can be exported to (`bench export --format NAME`); adding one is a conformance
/// and a line in `RunExportFormat.all`.
public protocol RunExporter: Sendable {
    /// The `--format` name.
    var formatName: String { get }
    /// The files for `tasks` of run `run` of `model`; `timestamp` goes into file names.
    func export(model: String, run: String, tasks: [ExportedTask], timestamp: String) throws -> [ExportedFile]
}

/// The export formats `bench export` offers.
public enum RunExportFormat {
    public static let all: [any RunExporter] = [LMEvalExporter()]
    public static func named(_ name: String) -> (any RunExporter)? { all.first { $0.formatName == name } }
}

/// lm-evaluation-harness 0.4's output files, as `lm_eval --output_path … --log_samples` writes them:
///
/// - `results_<timestamp>.json`: `results` (per task and group, `"<metric>,<filter>"` with
///   `"<metric>_stderr,<filter>"`, and an `alias`), `groups`, `group_subtasks`, `configs`,
///   `versions`, `n-shot`, `higher_is_better`, `n-samples`, `config` (model, seed, limit);
/// - `samples_<task>_<timestamp>.jsonl` per leaf task (a group's subtasks get one file each):
///   `doc_id`, `doc`, `target`, `arguments` (`gen_args_i.arg_j`), `resps`, `filtered_resps`,
///   `filter`, `metrics`, the hashes and the metric values, one line per document and filter.
///
/// What differs from lm-eval's own files, because the records do not hold it: `doc` is the
/// document as this package reads it (not the Hugging Face row); `target` is the record's target
/// (ARC's answer letter where lm-eval writes the choice index); a log-likelihood response's
/// is-greedy flag is not recorded and is written as `"None"`; `doc_hash` hashes this `doc`.
/// Task names are mapped where lm-eval's differ (`gpqa_diamond` → `gpqa_diamond_zeroshot`).
public struct LMEvalExporter: RunExporter {
    public let formatName = "lm-eval"

    /// Our task names that lm-eval spells differently.
    public static let taskNames = ["gpqa_diamond": "gpqa_diamond_zeroshot"]

    public init() {}

    public static func lmEvalName(_ task: String) -> String { taskNames[task] ?? task }

    public func export(model: String, run: String, tasks: [ExportedTask], timestamp: String) throws -> [ExportedFile] {
        var files: [ExportedFile] = []
        var results = OrderedJSON(), groups = OrderedJSON(), groupSubtasks = OrderedJSON(), configs = OrderedJSON()
        var versions = OrderedJSON(), nShot = OrderedJSON(), higherIsBetter = OrderedJSON(), nSamples = OrderedJSON()
        for task in tasks {
            let summary = task.summary
            let name = Self.lmEvalName(summary.task)
            let configuration = summary.configuration
            let version = Self.version(of: configuration)
            let leaves = Self.leaves(of: task)
            let isGroup = summary.subtasks != nil
            // Results: the task (a group's aggregate), then its subgroups and subtasks, indented as lm-eval's aliases.
            results[name] = .object(Self.metricsEntry(summary.metrics, alias: name))
            if isGroup { groups[name] = .object(Self.metricsEntry(summary.metrics, alias: name)) }
            groupSubtasks[name] = .array((summary.subtasks ?? []).map { .string($0.name) })
            func add(_ children: [AggregateSummary], depth: Int) {
                for child in children {
                    let alias = String(repeating: " ", count: depth) + "- " + child.name
                    results[child.name] = .object(Self.metricsEntry(child.metrics, alias: alias))
                    if let grandchildren = child.children {
                        groups[child.name] = .object(Self.metricsEntry(child.metrics, alias: alias))
                        groupSubtasks[child.name] = .array(grandchildren.map { .string($0.name) })
                        add(grandchildren, depth: depth + 1)
                    }
                }
            }
            add(summary.subtasks ?? [], depth: 1)
            let metricNames = Self.metricNames(summary)
            for leaf in leaves {
                configs[leaf.name] = .object(Self.config(task: leaf.name, benchmark: task.benchmark, configuration: configuration,
                                                         metrics: metricNames, version: version))
                if let version { versions[leaf.name] = .string(version) }
                nShot[leaf.name] = .int(configuration.fewshot)
                higherIsBetter[leaf.name] = .object(OrderedJSON(metricNames.map { ($0, .bool(true)) }))
                nSamples[leaf.name] = .object(OrderedJSON([("original", .int(leaf.total)), ("effective", .int(leaf.records.count))]))
                files.append(ExportedFile(name: "samples_\(leaf.name)_\(timestamp).jsonl",
                                          contents: try Self.samples(leaf.records, positions: leaf.positions, benchmark: task.benchmark)))
            }
            if isGroup {
                if let version { versions[name] = .string(version) }
                nShot[name] = .int(configuration.fewshot)
                higherIsBetter[name] = .object(OrderedJSON(metricNames.map { ($0, .bool(true)) }))
            }
        }
        let first = tasks.first?.summary.configuration
        var config = OrderedJSON()
        config["model"] = .string("dr-llm-bench")
        config["model_args"] = .string("model=\(model),run=\(run)" + (first.map { c in
            c.settings["backend"].map { ",backend=\($0),served_model=\(c.settings["served_model"] ?? "")" } ?? "" } ?? ""))
        config["model_sha256"] = first.map { .string($0.modelSHA256) } ?? .null
        config["batch_size"] = .int(1)
        config["device"] = .string("cpu")
        config["limit"] = first?.limit.map { .int($0) } ?? .null
        config["random_seed"] = .int(0)
        config["numpy_seed"] = .int(1234)
        config["torch_seed"] = .int(1234)
        config["fewshot_seed"] = first.map { .int(Int($0.seed)) } ?? .null
        config["bench_version"] = first.map { .string($0.benchVersion) } ?? .null
        // lm-eval records its own git hash; ours is each commit that wrote the records.
        let codeVersions = tasks.flatMap { $0.summary.configuration.codeVersions ?? [] }
        config["code_versions"] = .array(codeVersions.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }.map { .string($0) })
        var top = OrderedJSON()
        top["results"] = .object(results)
        top["groups"] = .object(groups)
        top["group_subtasks"] = .object(groupSubtasks)
        top["configs"] = .object(configs)
        top["versions"] = .object(versions)
        top["n-shot"] = .object(nShot)
        top["higher_is_better"] = .object(higherIsBetter)
        top["n-samples"] = .object(nSamples)
        top["config"] = .object(config)
        top["model_name"] = .string(model)
        top["model_name_sanitized"] = .string(model.replacingOccurrences(of: "/", with: "__"))
        top["date"] = .string(timestamp)
        files.insert(ExportedFile(name: "results_\(timestamp).json", contents: Data((OrderedJSONValue.object(top).rendered(indent: 0) + "\n").utf8)), at: 0)
        return files
    }

    // MARK: Results

    /// `{"alias": …, "<metric>,<filter>": value, "<metric>_stderr,<filter>": stderr or "N/A"}`.
    static func metricsEntry(_ metrics: [String: MetricValue], alias: String) -> OrderedJSON {
        var entry = OrderedJSON()
        entry["alias"] = .string(alias)
        for key in metrics.keys.sorted() {
            let value = metrics[key]!
            let (metric, filter) = split(key)
            entry[key] = .double(value.value)
            entry["\(metric)_stderr,\(filter)"] = value.stderr.map { .double($0) } ?? .string("N/A")
        }
        return entry
    }

    /// `acc,none` → (`acc`, `none`); a key without a filter gets `none`.
    static func split(_ key: String) -> (metric: String, filter: String) {
        guard let comma = key.firstIndex(of: ",") else { return (key, "none") }
        return (String(key[..<comma]), String(key[key.index(after: comma)...]))
    }

    /// Metric names without filters, in order (`acc`, `acc_norm`; `exact_match`).
    static func metricNames(_ summary: TaskSummary) -> [String] {
        var names: [String] = []
        for key in summary.metrics.keys.sorted() where !names.contains(split(key).metric) { names.append(split(key).metric) }
        return names
    }

    /// lm-eval's task version, from the prompt format setting (`lm-eval gsm8k v3.0: …`).
    static func version(of configuration: RunConfiguration) -> String? {
        guard let format = configuration.settings["prompt_format"],
              let match = format.range(of: #"\bv[0-9]+(\.[0-9]+)*\b"#, options: .regularExpression) else { return nil }
        return String(format[match].dropFirst())
    }

    static func config(task: String, benchmark: LoadedBenchmark, configuration: RunConfiguration, metrics: [String],
                       version: String?) -> OrderedJSON {
        let info = benchmark.info
        var c = OrderedJSON()
        c["task"] = .string(task)
        c["output_type"] = .string(info.requestKind == .loglikelihood ? "multiple_choice" : "generate_until")
        c["num_fewshot"] = .int(configuration.fewshot)
        c["fewshot_seed"] = .int(Int(configuration.seed))
        c["metric_list"] = .array(metrics.map { m in
            .object(OrderedJSON([("metric", .string(m)), ("aggregation", .string("mean")), ("higher_is_better", .bool(true))]))
        })
        if let generation = info.generation {
            c["generation_kwargs"] = .object(OrderedJSON([("until", .array(generation.until.map { .string($0) })),
                                                          ("max_gen_toks", .int(generation.maxTokens)), ("do_sample", .bool(false)),
                                                          ("temperature", .double(0))]))
        }
        c["repeats"] = .int(1)
        c["prompt_format"] = .string(configuration.settings["prompt_format"] ?? info.promptFormat)
        c["dataset_source"] = .string(info.dataSource)
        c["data_sha256"] = .string(configuration.dataSHA256)
        c["metadata"] = .object(OrderedJSON([("version", version.map { .string($0) } ?? .null)]))
        return c
    }

    // MARK: Samples

    /// A leaf task's records, the position of each among the leaf's documents (lm-eval's
    /// `doc_id`), and how many documents the leaf has.
    struct Leaf {
        var name: String
        var records: [ExampleRecord]
        var positions: [Int]
        var total: Int
    }

    static func leaves(of task: ExportedTask) -> [Leaf] {
        let name = lmEvalName(task.summary.task)
        guard task.summary.subtasks != nil else {
            return [Leaf(name: name, records: task.records, positions: task.records.map(\.index), total: task.benchmark.documents.count)]
        }
        // Documents of a group are its subtasks' documents one subtask after another.
        var position: [Int: Int] = [:], totals: [String: Int] = [:], order: [String] = []
        for document in task.benchmark.documents {
            let subtask = document.subtask ?? name
            if totals[subtask] == nil { order.append(subtask) }
            position[document.index] = totals[subtask, default: 0]
            totals[subtask, default: 0] += 1
        }
        var bySubtask: [String: [ExampleRecord]] = [:]
        for record in task.records { bySubtask[record.subtask ?? name, default: []].append(record) }
        return order.compactMap { subtask in
            guard let records = bySubtask[subtask] else { return nil }
            return Leaf(name: subtask, records: records, positions: records.map { position[$0.index] ?? $0.index },
                        total: totals[subtask] ?? records.count)
        }
    }

    /// One line per record and filter: lm-eval writes a sample for each filter of a task.
    static func samples(_ records: [ExampleRecord], positions: [Int], benchmark: LoadedBenchmark) throws -> Data {
        var out = Data()
        for (record, docID) in zip(records, positions) {
            let request = try benchmark.request(at: record.index)
            let documentData = try benchmark.documentJSON(at: record.index)
            let document = String(decoding: documentData, as: UTF8.self)
            // Requests in lm-eval's order: SQuAD v2 generates first, then scores.
            var arguments = OrderedJSON(), responses: [OrderedJSONValue] = []
            var generated: String?
            var loglikelihoods = record.choiceLogLikelihoods ?? []
            if let generation = request.generationRequest {
                generated = record.generation ?? record.prediction
                arguments["gen_args_\(arguments.count)"] = .object(OrderedJSON([
                    ("arg_0", .string(generation.context)),
                    ("arg_1", .object(OrderedJSON([("until", .array(generation.until.map { .string($0) })),
                                                   ("max_gen_toks", .int(generation.maxTokens)),
                                                   ("do_sample", .bool(false)), ("temperature", .double(0))]))),
                ]))
                responses.append(.array([.string(generated ?? "")]))
            }
            for (k, ll) in request.loglikelihoodRequests.enumerated() {
                arguments["gen_args_\(arguments.count)"] = .object(OrderedJSON([("arg_0", .string(ll.context)), ("arg_1", .string(ll.continuation))]))
                let value = k < loglikelihoods.count ? String(describing: loglikelihoods[k]) : "None"
                responses.append(.array([.array([.string(value), .string("None")])]))
            }
            if loglikelihoods.count > request.loglikelihoodRequests.count { loglikelihoods.removeAll() }
            let firstContext = request.generationRequest?.context ?? request.loglikelihoodRequests.first?.context ?? ""
            let filters = Self.filters(record)
            for filter in filters {
                var sample = OrderedJSON()
                sample["doc_id"] = .int(docID)
                sample["doc"] = .raw(document)
                sample["target"] = .string(record.target)
                sample["arguments"] = .object(arguments)
                sample["resps"] = .array(responses)
                sample["filtered_resps"] = .array(responses.map { response in
                    if case let .array(inner) = response, inner.count == 1, case .string = inner[0], let generated {
                        return .string(Self.filtered(generated, filter: filter, record: record))
                    }
                    if case let .array(inner) = response, let first = inner.first { return first }
                    return response
                })
                sample["filter"] = .string(filter)
                let metrics = record.metrics.keys.sorted().filter { split($0).filter == filter }
                sample["metrics"] = .array(metrics.map { .string(split($0).metric) })
                sample["doc_hash"] = .string(SHA256.hexDigest(of: documentData))
                sample["prompt_hash"] = .string(SHA256.hexDigest(of: Data(firstContext.utf8)))
                sample["target_hash"] = .string(SHA256.hexDigest(of: Data(record.target.utf8)))
                for key in metrics { sample[split(key).metric] = .double(record.metrics[key]!) }
                out.append(Data((OrderedJSONValue.object(sample).rendered(indent: nil) + "\n").utf8))
            }
        }
        return out
    }

    /// The filters of a record's metrics (`none`; GSM8K's `strict-match` and `flexible-extract`),
    /// metric keys without a comma (SQuAD v2's aggregation inputs) aside.
    static func filters(_ record: ExampleRecord) -> [String] {
        var filters: [String] = []
        for key in record.metrics.keys.sorted() where key.contains(",") {
            let filter = split(key).filter
            if !filters.contains(filter) { filters.append(filter) }
        }
        return filters.isEmpty ? ["none"] : filters
    }

    /// What a filter leaves of a generation: GSM8K's extractions as lm-eval's regexes; for other
    /// tasks the record's prediction (the answer the metric compared).
    static func filtered(_ generated: String, filter: String, record: ExampleRecord) -> String {
        switch filter {
        case "strict-match": return AnswerChecking.gsm8kStrictMatch(generated)
        case "flexible-extract": return AnswerChecking.gsm8kFlexibleExtract(generated)
        default: return record.prediction
        }
    }
}

// MARK: - JSON with ordered keys and lm-eval's number forms

/// A JSON value written with keys in insertion order and doubles as Python writes floats
/// (`0.0`, never `0`), so lm-eval's `make_table` formats every value as a float.
indirect enum OrderedJSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([OrderedJSONValue])
    case object(OrderedJSON)
    /// Already-encoded JSON.
    case raw(String)

    func rendered(indent: Int?) -> String {
        var out = ""
        write(into: &out, indent: indent, level: 0)
        return out
    }

    private func write(into out: inout String, indent: Int?, level: Int) {
        switch self {
        case .null: out += "null"
        case let .bool(b): out += b ? "true" : "false"
        case let .int(i): out += String(i)
        case let .double(d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d > 0 ? "Infinity" : "-Infinity" } else { out += String(describing: d) }
        case let .string(s): out += OrderedJSONValue.quoted(s)
        case let .raw(text): out += text
        case let .array(items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: (level + 1) * max(indent, 2)) }
                item.write(into: &out, indent: indent, level: level + 1)
            }
            if let indent, !items.isEmpty { out += "\n" + String(repeating: " ", count: level * max(indent, 2)) }
            out += "]"
        case let .object(object):
            out += "{"
            for (i, key) in object.keys.enumerated() {
                if i > 0 { out += indent == nil ? ", " : "," }
                if let indent { out += "\n" + String(repeating: " ", count: (level + 1) * max(indent, 2)) }
                out += OrderedJSONValue.quoted(key) + ": "
                object.values[key]!.write(into: &out, indent: indent, level: level + 1)
            }
            if let indent, !object.keys.isEmpty { out += "\n" + String(repeating: " ", count: level * max(indent, 2)) }
            out += "}"
        }
    }

    /// A JSON string literal (non-ASCII kept as is, like `ensure_ascii=False`).
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 { out += String(format: "\\u%04x", scalar.value) } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out + "\""
    }
}

/// A JSON object whose keys keep their insertion order.
struct OrderedJSON: Sendable, Equatable {
    private(set) var keys: [String] = []
    fileprivate(set) var values: [String: OrderedJSONValue] = [:]

    init() {}
    init(_ pairs: [(String, OrderedJSONValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    var count: Int { keys.count }

    subscript(key: String) -> OrderedJSONValue? {
        get { values[key] }
        set {
            if values[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            values[key] = newValue
        }
    }
}
