import Engine
import Foundation
import Support

/// A document of a loaded benchmark, as the harness sees it (no benchmark-specific fields).
public struct DocumentReference: Sendable, Hashable, Codable {
    /// Position in the benchmark's document list.
    public var index: Int
    public var id: String
    public var subtask: String?
    public var target: String
}

/// A benchmark with its documents loaded and verified and its few-shot examples drawn: what the
/// harness runs. Type-erased so that every benchmark looks the same to the harness.
public struct LoadedBenchmark: Sendable {
    /// The benchmark's description.
    public let info: BenchmarkInfo
    /// Which split was loaded.
    public let split: DocumentSplit
    /// The documents, in lm-eval's order.
    public let documents: [DocumentReference]
    /// Few-shot examples per document actually used (after `fewshotIsFixed` and overrides).
    public let fewshotCount: Int
    /// The files read, with their verified SHA-256.
    public let dataFiles: [DataFileDigest]

    private let makeRequest: @Sendable (Int) -> BenchmarkRequest
    private let makeScore: @Sendable (Int, BenchmarkResponse) -> ExampleScore
    private let makeAggregate: @Sendable ([ExampleScore]) -> BenchmarkAggregate
    private let fewshotIDs: @Sendable (Int) -> [String]
    private let encodeDocument: @Sendable (Int) throws -> Data

    /// Loads `benchmark`'s documents of `split` and draws few-shot examples the way lm-eval does.
    ///
    /// `fewshot` overrides the default number of examples unless lm-eval pins it to 0;
    /// `fewshotSeed` is lm-eval's `fewshot_random_seed` (1234).
    public init<B: Benchmark>(_ benchmark: B, tasksDirectory: URL, split: DocumentSplit = .evaluation,
                              fewshot: Int? = nil, fewshotSeed: Int = 1234) throws {
        let info = benchmark.info
        let set = try benchmark.loadDocuments(from: tasksDirectory, split: split)
        let count = info.fewshotIsFixed ? info.defaultFewshot : (fewshot ?? info.defaultFewshot)
        var files = set.files
        var plan: [[B.Document]] = Array(repeating: [], count: set.documents.count)
        if count > 0 {
            guard let pool = try benchmark.loadFewshotPool(from: tasksDirectory) else {
                throw BenchmarkDataError.fewshotUnavailable(benchmark: info.name, reason: "no few-shot split in tasks/")
            }
            files += pool.files
            plan = try FewshotPlanner.plan(documents: set.documents, benchmark: info.name, pool: pool, count: count, seed: fewshotSeed)
        }
        let documents = set.documents
        self.info = info
        self.split = split
        self.fewshotCount = count
        self.dataFiles = files
        self.documents = documents.enumerated().map {
            DocumentReference(index: $0.offset, id: $0.element.id, subtask: $0.element.subtask, target: $0.element.target)
        }
        let examples = plan
        self.makeRequest = { index in benchmark.requests(for: documents[index], fewshot: examples[index]) }
        self.makeScore = { index, response in benchmark.score(documents[index], response: response) }
        self.makeAggregate = { scores in benchmark.aggregate(scores) }
        self.fewshotIDs = { index in examples[index].map(\.id) }
        self.encodeDocument = { index in
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(documents[index])
        }
    }

    /// The name, e.g. `arc_easy`.
    public var name: String { info.name }

    private func check(_ index: Int) throws {
        guard documents.indices.contains(index) else {
            throw BenchmarkDataError.documentIndexOutOfRange(benchmark: info.name, index: index, count: documents.count)
        }
    }

    /// The requests for document `index`.
    public func request(at index: Int) throws -> BenchmarkRequest {
        try check(index)
        return makeRequest(index)
    }

    /// Document `index` as JSON (its fields as this package reads them from the data; what an
    /// export writes as lm-eval's per-sample `doc`).
    public func documentJSON(at index: Int) throws -> Data {
        try check(index)
        return try encodeDocument(index)
    }

    /// The ids of the few-shot examples document `index` is shown.
    public func fewshotExampleIDs(at index: Int) throws -> [String] {
        try check(index)
        return fewshotIDs(index)
    }

    /// Scores document `index` from the model's responses to `request(at: index)`.
    public func score(at index: Int, response: BenchmarkResponse) throws -> ExampleScore {
        try check(index)
        return makeScore(index, response)
    }

    /// Aggregates per-example scores (any subset of the documents, e.g. a `--limit` run).
    public func aggregate(_ scores: [ExampleScore]) -> BenchmarkAggregate {
        makeAggregate(scores)
    }

    /// The document indices a run with `--limit N` evaluates: lm-eval applies the limit to each
    /// subtask, so a group gets the first N documents of every subtask.
    public func indices(limit: Int?) -> [Int] {
        guard let limit else { return Array(documents.indices) }
        var taken: [String: Int] = [:]
        return documents.indices.filter { index in
            let key = documents[index].subtask ?? info.name
            let seen = taken[key, default: 0]
            taken[key] = seen + 1
            return seen < limit
        }
    }

    /// One SHA-256 over the data files' digests, for a result's configuration.
    public var dataDigest: String {
        let listing = dataFiles.map { "\($0.sha256)  \($0.path)\n" }.joined()
        return SHA256.hexDigest(of: Data(listing.utf8))
    }
}

/// Draws few-shot examples exactly as lm-eval's samplers do.
enum FewshotPlanner {
    /// The examples for every document, in document order.
    ///
    /// lm-eval keeps one `random.Random(seed)` per (sub)task and calls `sample` once per document
    /// in order, so a document's examples depend on its position; they are therefore drawn for
    /// all documents up front (it is cheap), which also makes `--limit` runs see the same shots.
    static func plan<Document: BenchmarkDocument>(documents: [Document], benchmark: String, pool: FewshotPool<Document>,
                                                  count: Int, seed: Int) throws -> [[Document]] {
        var generators: [String: PythonRandom] = [:]
        var plan: [[Document]] = []
        plan.reserveCapacity(documents.count)
        for document in documents {
            let key = document.subtask ?? benchmark
            let candidates = pool.documents[key] ?? []
            let needed = count + (pool.excludesEvaluatedDocument ? 1 : 0)
            switch pool.sampler {
            case .firstN:
                let usable = pool.excludesEvaluatedDocument ? candidates.filter { $0 != document } : candidates
                guard count <= usable.count else {
                    throw BenchmarkDataError.fewshotPoolTooSmall(benchmark: key, requested: count, available: usable.count)
                }
                plan.append(Array(usable.prefix(count)))
            case .random:
                guard needed <= candidates.count else {
                    throw BenchmarkDataError.fewshotPoolTooSmall(benchmark: key, requested: needed, available: candidates.count)
                }
                var generator = generators[key] ?? PythonRandom(seed: seed)
                let drawn = generator.sample(candidates, count: needed)
                generators[key] = generator
                plan.append(pool.excludesEvaluatedDocument ? Array(drawn.filter { $0 != document }.prefix(count)) : drawn)
            }
        }
        return plan
    }
}
