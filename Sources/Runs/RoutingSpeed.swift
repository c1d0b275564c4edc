import Benchmarks
import Dispatch
import Engine
import Foundation
import Support

/// Wraps a `PathDecider` and adds up the wall time spent inside `decide` — the routers' own
/// cost, as opposed to the blocks they choose.
public final class TimedPathDecider: PathDecider, @unchecked Sendable {
    private let inner: any PathDecider
    private let lock = NSLock()
    private var elapsedSeconds: Double = 0
    private var callCount = 0

    public init(_ inner: any PathDecider) { self.inner = inner }

    public var routingInput: RoutingInput { inner.routingInput }

    public func decide(layer: Int, hidden: UnsafeBufferPointer<Float>, tokens: Int, width: Int) -> Int {
        let start = MonotonicClock.seconds()
        let answer = inner.decide(layer: layer, hidden: hidden, tokens: tokens, width: width)
        let elapsed = MonotonicClock.seconds() - start
        lock.lock()
        elapsedSeconds += elapsed
        callCount += 1
        lock.unlock()
        return answer
    }

    /// Seconds spent in `decide` so far, and how many decisions were made.
    public var elapsed: (seconds: Double, decisions: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (elapsedSeconds, callCount)
    }

    /// Starts counting from zero again.
    public func reset() {
        lock.lock()
        elapsedSeconds = 0
        callCount = 0
        lock.unlock()
    }
}

/// Wall time of the same documents under the baseline (full path) and a routed policy, measured
/// in alternation so that both see the same machine state, next to the block applications each
/// used and the routers' own share of the routed time.
public struct RoutingSpeed: Codable, Sendable, Equatable {
    /// One task's measurement. Seconds are medians over the repetitions of the time to answer all
    /// the task's measured documents (prefill, scoring, generation; no answer checking).
    public struct TaskResult: Codable, Sendable, Equatable {
        public var task: String
        public var documents: Int
        public var repetitions: Int
        public var baselineSeconds: Double
        public var routedSeconds: Double
        /// Time inside the routers' `decide` during the routed repetition of median time.
        public var routerSeconds: Double
        /// Router decisions per repetition (one per block per distinct prompt prefill).
        public var routerDecisions: Int
        /// Mean block applications per document over all forward passes.
        public var baselineBlocks: Double
        public var routedBlocks: Double
        /// Mean generated tokens per document (0 for loglikelihood tasks): routed generations
        /// of a different length change the time for reasons other than the layers.
        public var baselineGeneratedTokens: Double
        public var routedGeneratedTokens: Double

        public init(task: String, documents: Int, repetitions: Int, baselineSeconds: Double, routedSeconds: Double,
                    routerSeconds: Double, routerDecisions: Int, baselineBlocks: Double, routedBlocks: Double,
                    baselineGeneratedTokens: Double, routedGeneratedTokens: Double) {
            self.task = task
            self.documents = documents
            self.repetitions = repetitions
            self.baselineSeconds = baselineSeconds
            self.routedSeconds = routedSeconds
            self.routerSeconds = routerSeconds
            self.routerDecisions = routerDecisions
            self.baselineBlocks = baselineBlocks
            self.routedBlocks = routedBlocks
            self.baselineGeneratedTokens = baselineGeneratedTokens
            self.routedGeneratedTokens = routedGeneratedTokens
        }

        /// routed / baseline wall time.
        public var timeRatio: Double { baselineSeconds > 0 ? routedSeconds / baselineSeconds : .nan }
        /// Share of block applications saved by routing (negative when it uses more).
        public var blocksSaved: Double { baselineBlocks > 0 ? 1 - routedBlocks / baselineBlocks : .nan }
        /// The routers' share of the routed wall time.
        public var routerShare: Double { routedSeconds > 0 ? routerSeconds / routedSeconds : .nan }

        enum CodingKeys: String, CodingKey {
            case task, documents, repetitions
            case baselineSeconds = "baseline_seconds", routedSeconds = "routed_seconds"
            case routerSeconds = "router_seconds", routerDecisions = "router_decisions"
            case baselineBlocks = "baseline_blocks_per_document", routedBlocks = "routed_blocks_per_document"
            case baselineGeneratedTokens = "baseline_generated_tokens_per_document"
            case routedGeneratedTokens = "routed_generated_tokens_per_document"
        }
    }

    public var model: String
    public var routerFile: String
    public var threads: Int
    public var tasks: [TaskResult]

    public init(model: String, routerFile: String, threads: Int, tasks: [TaskResult]) {
        self.model = model
        self.routerFile = routerFile
        self.threads = threads
        self.tasks = tasks
    }

    enum CodingKeys: String, CodingKey {
        case model, routerFile = "router_file", threads, tasks
    }

    /// Measures `indices` of `benchmark`: each repetition answers all documents under both
    /// policies (baseline first on even repetitions, routed first on odd ones), in batches of
    /// `batchSize` documents as `bench run` sends them.
    public static func measure(model: any RoutableLanguageModel, benchmark: LoadedBenchmark, indices: [Int],
                               routers: any PathDecider, repetitions: Int, batchSize: Int = 8) throws -> TaskResult {
        precondition(repetitions >= 1 && !indices.isEmpty && batchSize >= 1)
        let timed = TimedPathDecider(routers)
        let requests = try indices.map { try benchmark.request(at: $0) }
        let batches = stride(from: 0, to: requests.count, by: batchSize).map {
            Array(requests[$0..<min(requests.count, $0 + batchSize)])
        }

        struct Pass { var seconds: Double; var blocks: Int; var generated: Int }
        func pass(_ policy: LayerPolicy) throws -> Pass {
            var blocks = 0, generated = 0
            let start = MonotonicClock.seconds()
            for batch in batches {
                let scoring = batch.flatMap(\.loglikelihoodRequests)
                let generating = batch.compactMap(\.generationRequest)
                let (scored, answers) = try model.evaluate(loglikelihood: scoring, generation: generating, policy: policy)
                blocks += scored.map(\.blockApplications).reduce(0, +)
                for g in answers {
                    blocks += g.blockApplications
                    generated += g.generatedTokens
                }
            }
            return Pass(seconds: MonotonicClock.seconds() - start, blocks: blocks, generated: generated)
        }

        var baseline: [Pass] = [], routed: [(pass: Pass, router: (seconds: Double, decisions: Int))] = []
        for repetition in 0..<repetitions {
            func runRouted() throws {
                timed.reset()
                routed.append((try pass(.decided(timed)), timed.elapsed))
            }
            if repetition % 2 == 1 { try runRouted() }
            baseline.append(try pass(.full))
            if repetition % 2 == 0 { try runRouted() }
        }
        let medianBaseline = baseline.sorted { $0.seconds < $1.seconds }[baseline.count / 2]
        let medianRouted = routed.sorted { $0.pass.seconds < $1.pass.seconds }[routed.count / 2]
        let n = Double(indices.count)
        return TaskResult(task: benchmark.name, documents: indices.count, repetitions: repetitions,
                          baselineSeconds: medianBaseline.seconds, routedSeconds: medianRouted.pass.seconds,
                          routerSeconds: medianRouted.router.seconds, routerDecisions: medianRouted.router.decisions,
                          baselineBlocks: Double(medianBaseline.blocks) / n, routedBlocks: Double(medianRouted.pass.blocks) / n,
                          baselineGeneratedTokens: Double(medianBaseline.generated) / n,
                          routedGeneratedTokens: Double(medianRouted.pass.generated) / n)
    }

    /// A Markdown table, one row per task plus an all-tasks row (sums of seconds, means of the
    /// per-document figures weighted by documents).
    public func markdown(command: String? = nil) -> String {
        func f(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
        func pct(_ x: Double) -> String { String(format: "%+.2f%%", 100 * x) }
        var table = MarkdownTable(
            header: ["task", "docs", "baseline s", "routed s", "routed/baseline time", "blocks/doc baseline", "blocks/doc routed",
                     "blocks saved", "gen tokens/doc baseline", "gen tokens/doc routed", "router time", "router share"],
            alignments: [.left] + Array(repeating: .right, count: 11))
        func row(_ t: TaskResult) -> [String] {
            [t.task, "\(t.documents)", f(t.baselineSeconds, 2), f(t.routedSeconds, 2), f(t.timeRatio, 3),
             f(t.baselineBlocks, 1), f(t.routedBlocks, 1), pct(t.blocksSaved),
             f(t.baselineGeneratedTokens, 1), f(t.routedGeneratedTokens, 1),
             "\(f(t.routerSeconds * 1000, 1)) ms", String(format: "%.3f%%", 100 * t.routerShare)]
        }
        table.rows = tasks.map(row)
        if tasks.count > 1 {
            let docs = tasks.map(\.documents).reduce(0, +)
            func weighted(_ key: (TaskResult) -> Double) -> Double {
                tasks.map { key($0) * Double($0.documents) }.reduce(0, +) / Double(docs)
            }
            let all = TaskResult(task: "**all**", documents: docs, repetitions: tasks[0].repetitions,
                                 baselineSeconds: tasks.map(\.baselineSeconds).reduce(0, +),
                                 routedSeconds: tasks.map(\.routedSeconds).reduce(0, +),
                                 routerSeconds: tasks.map(\.routerSeconds).reduce(0, +),
                                 routerDecisions: tasks.map(\.routerDecisions).reduce(0, +),
                                 baselineBlocks: weighted(\.baselineBlocks), routedBlocks: weighted(\.routedBlocks),
                                 baselineGeneratedTokens: weighted(\.baselineGeneratedTokens),
                                 routedGeneratedTokens: weighted(\.routedGeneratedTokens))
            table.rows.append(row(all))
        }
        var text = "## Routed vs baseline wall time: \(model), routers \(routerFile), \(threads) threads\n\n"
        text += table.render() + "\n"
        text += "Seconds: median over \(tasks.first?.repetitions ?? 0) repetitions of answering the documents under each "
            + "configuration, alternating which goes first. Router time: wall time inside the routers (pooling and the two small "
            + "linear layers per block) during the routed repetition of median time; router share = router time / routed time.\n"
        if let command { text += "\nReproduce: `\(command)`\n" }
        return text
    }
}

extension RoutingSpeed {
    /// `bench perf-routed` as a library function: the first `limit` documents of each task answered
    /// under both configurations in alternation, `repetitions` times; writes
    /// `<reports>/<model>/routing-speed.{md,json}` and returns the Markdown and the files written.
    public static func run(model resolved: ResolvedModel, threads: Int, tasks: [String], routerFile: String?, limit: Int,
                           repetitions: Int, chatTemplate: any ChatTemplate, reportsFolder: URL,
                           progress: (String) -> Void) throws -> (markdown: String, files: [URL]) {
        let (routers, file, _) = try RouterFiles.load(routerFile, for: resolved, modelSHA256: try FileDigest.sha256(path: resolved.path),
                                                      hint: "train one with `bench train-router`")
        let tasksDirectory = try TasksDirectory.locate()
        let options = BenchmarkOptions(chatTemplate: chatTemplate)
        let benchmarks = try tasks.map { try BenchmarkRegistry.load($0, from: tasksDirectory, options: options) }
        let model = try TransformerModel(path: resolved.path, name: resolved.name, threads: threads)
        try routers.validate(layerCount: model.layerCount, width: model.configuration.width)

        var results: [TaskResult] = []
        for benchmark in benchmarks {
            progress("\(benchmark.name): \(repetitions) × baseline and routed …\n")
            results.append(try measure(model: model, benchmark: benchmark, indices: benchmark.indices(limit: limit),
                                       routers: routers, repetitions: repetitions))
        }
        let speed = RoutingSpeed(model: model.name, routerFile: file, threads: model.threads, tasks: results)
        let command = "bench perf-routed --tasks \(tasks.joined(separator: ",")) --limit \(limit) --repetitions \(repetitions) "
            + "--threads \(model.threads) --router \(file)"
        let markdown = speed.markdown(command: command)
        let folder = reportsFolder.appendingPathComponent(model.name, isDirectory: true)
        try FileOperations.ensureWritableFolder(folder)
        let markdownFile = folder.appendingPathComponent("routing-speed.md")
        let jsonFile = folder.appendingPathComponent("routing-speed.json")
        try FileOperations.writeAtomically(Data(markdown.utf8), to: markdownFile)
        try FileOperations.writeAtomically(try CanonicalJSON.prettyData(speed), to: jsonFile)
        return (markdown, [markdownFile, jsonFile])
    }
}
