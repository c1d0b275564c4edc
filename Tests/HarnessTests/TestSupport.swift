import Benchmarks
import Engine
import Foundation
import Reports
import Runs
import Supervision
import Support
import XCTest

/// A fresh folder under the temporary directory, removed when the test ends.
func makeTemporaryFolder(_ test: XCTestCase, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    let url = URL(fileURLWithPath: NSTemporaryDirectory())
        .appendingPathComponent("harness-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

/// The repository's root folder.
let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The repository's `tasks/` folder.
let repositoryTasks = repositoryRoot.appendingPathComponent("tasks", isDirectory: true)

/// The default model is missing: the tests that need it fail (they are not skipped).
struct DefaultModelMissing: Error, CustomStringConvertible {
    var description: String
}

/// The default model as `scripts/setup.sh` installs it, on 2 threads; throws (failing the test)
/// when it is not installed.
func loadDefaultModel() throws -> TransformerModel {
    let file = repositoryRoot.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    guard FileManager.default.fileExists(atPath: file) else {
        throw DefaultModelMissing(description: "default model missing at \(file): run scripts/setup.sh")
    }
    return try TransformerModel(path: file, name: "smollm2-135m-instruct", threads: 2)
}

/// A configuration for store tests.
func sampleConfiguration(task: String = "toy", run: String = "baseline", model: String = "tiny",
                         modelSHA256: String = "aaaa", fewshot: Int = 0, limit: Int? = nil) -> RunConfiguration {
    RunConfiguration(benchVersion: "0.1.0", run: run, task: task, model: model, modelSHA256: modelSHA256,
                     layerCount: 4, policy: run == "baseline" ? .full : .routers,
                     routerSHA256: run == "baseline" ? nil : "rrrr", dataSHA256: "dddd", fewshot: fewshot,
                     limit: limit, seed: 1234, chatTemplate: false)
}

/// A record with a given correctness and layer path.
func sampleRecord(index: Int, correct: Bool, path: [Int] = [0, 1, 2, 3], choices: Int = 4,
                  seconds: Double = 0.5, metric: String = "acc,none") -> ExampleRecord {
    ExampleRecord(index: index, id: "doc-\(index)", target: "1", prediction: correct ? "1" : "0",
                  chosenIndex: correct ? 1 : 0, choiceLogLikelihoods: [-1.5, -0.25, -3, -4],
                  metrics: [metric: correct ? 1 : 0],
                  path: PathSummary(paths: [LayerPath(path)], layerCount: 4),
                  blockApplications: choices * path.count, forwardPasses: choices, tokens: 20, seconds: seconds)
}

/// Mean aggregation over `keys`, the benchmarks' default.
func meanAggregate(_ keys: [String]) -> ([ExampleScore]) -> BenchmarkAggregate {
    { scores in BenchmarkAggregate(name: "toy", metrics: MeanAggregation.summaries(of: scores, keys: keys)) }
}

/// A summary of `records` with the mean of `acc,none`.
func sampleSummary(_ configuration: RunConfiguration, _ records: [ExampleRecord], documents: Int? = nil,
                   metric: String = "acc,none", pointsScale: Double = 100) -> TaskSummary {
    TaskSummary(configuration: configuration, records: records, documents: documents ?? records.count,
                primaryMetric: metric, pointsScale: pointsScale, aggregate: meanAggregate([metric]))
}

/// Asserts that `body` throws exactly `expected`.
func XCTAssertThrowsRunError<T>(_ expected: RunError, _ body: @autoclosure () throws -> T,
                                file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try body()
        XCTFail("expected \(expected), got no error", file: file, line: line)
    } catch let error as RunError {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// The `RunError` thrown by `body`, or nil (failing the test) if it threw something else or nothing.
func runError<T>(_ body: () throws -> T, file: StaticString = #filePath, line: UInt = #line) -> RunError? {
    do {
        _ = try body()
        XCTFail("expected a RunError, got no error", file: file, line: line)
    } catch let error as RunError {
        return error
    } catch {
        XCTFail("expected a RunError, got \(error)", file: file, line: line)
    }
    return nil
}

/// A deterministic stand-in for a transformer: log-likelihoods and generations are fixed
/// functions of the text, paths follow the policy, and every call is counted. It can be told to
/// fail after a number of documents, like a run killed midway.
final class FakeLanguageModel: RoutableLanguageModel, GeneratedTokenCounting {
    let name = "fake"
    /// Nine per generation request, counted when a call starts (before its `secondsPerCall`).
    let generatedTokens = GeneratedTokenCounter()
    let layerCount = 4
    /// Loglikelihood requests and generation requests seen.
    private(set) var scoredRequests = 0
    private(set) var generatedRequests = 0
    /// Calls (batches) so far.
    private(set) var calls = 0
    /// Throw on the call after this many calls.
    var failAfterCalls: Int?
    /// What generations return.
    var generationText = "Natalia sold 48 clips. #### 72"
    /// Seconds each call takes (a slow model, for heartbeat tests).
    var secondsPerCall: Double = 0

    struct Killed: Error {}

    private func path(for policy: LayerPolicy) -> LayerPath {
        switch policy {
        case .full: return .full(layerCount)
        case .fixed(let p): return p
        case .decided: return LayerPath([0, 1, 1, 3])
        }
    }

    private func tick() throws {
        if let limit = failAfterCalls, calls >= limit { throw Killed() }
        calls += 1
        if secondsPerCall > 0 { Thread.sleep(forTimeInterval: secondsPerCall) }
    }

    func loglikelihood(_ requests: [LoglikelihoodRequest], policy: LayerPolicy) throws -> [LoglikelihoodResult] {
        try tick()
        scoredRequests += requests.count
        let p = path(for: policy)
        return requests.map { r in
            // A stable pseudo-score from the text (no Hasher: it is seeded per process).
            var h: UInt64 = 1469598103934665603
            for b in (r.context.suffix(64) + "|" + r.continuation).utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
            let ll = -Double(h % 1000) / 100 - Double(r.continuation.count) / 50
            return LoglikelihoodResult(logLikelihood: ll, isGreedy: h % 3 == 0, continuationTokens: max(1, r.continuation.count / 4),
                                       contextTokens: r.context.count / 4, path: p,
                                       blockApplications: p.count, forwardPasses: 1)
        }
    }

    func generate(_ requests: [GenerationRequest], policy: LayerPolicy) throws -> [GenerationResult] {
        generatedTokens.add(9 * requests.count)
        try tick()
        generatedRequests += requests.count
        let p = path(for: policy)
        return requests.map { r in
            GenerationResult(text: generationText, stopReason: .stopString, promptTokens: r.context.count / 4,
                             generatedTokens: 9, path: p, blockApplications: 10 * p.count, forwardPasses: 10)
        }
    }
}
