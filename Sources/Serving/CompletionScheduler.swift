import Engine
import Foundation

/// Runs completions on one engine from one worker thread, in arrival order, batching what waits:
/// every request queued while the engine was busy runs in the next engine call, one call per
/// policy. The engine's prefill is per sequence and its decode kernels are batch-invariant, so a
/// request's answer is the same whatever ran beside it.
///
/// The queue is bounded: a request that finds it full is refused at once (HTTP 429).
public final class CompletionScheduler: @unchecked Sendable {
    private struct Job {
        let policy: ServedPolicy
        let requests: [TokenCompletionRequest]
        let finish: @Sendable (Result<[TokenCompletion], any Error>) -> Void
    }

    /// Requests that may wait for the engine; one more is refused.
    public let capacity: Int
    private let engine: any CompletionEngine
    private let layerPolicy: @Sendable (ServedPolicy) -> LayerPolicy
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopped = false
    private var worker: Thread?
    private var statistics = Statistics()

    /// What the scheduler has done so far (`GET /health` shows it).
    public struct Statistics: Sendable, Equatable {
        /// Requests completed or refused by the engine.
        public var requests = 0
        /// Engine calls (one per policy per batch).
        public var engineCalls = 0
        /// Most requests one engine call ran together.
        public var largestBatch = 0
        /// Requests refused because the queue was full.
        public var refusedQueueFull = 0
        /// Seconds the engine spent on calls.
        public var engineSeconds = 0.0
    }

    /// - Parameters:
    ///   - layerPolicy: the engine policy a served policy stands for (routers for `.routed`).
    public init(engine: any CompletionEngine, capacity: Int = 256,
                layerPolicy: @escaping @Sendable (ServedPolicy) -> LayerPolicy) {
        self.engine = engine
        self.capacity = max(1, capacity)
        self.layerPolicy = layerPolicy
        // The thread holds the scheduler until `stop()`: a server stops it when it shuts down.
        let thread = Thread { self.work() }
        thread.name = "completion-engine"
        thread.stackSize = 8 << 20
        worker = thread
        thread.start()
    }

    /// Stops the worker after the batch it is running; waiting requests are refused.
    public func stop() {
        condition.lock()
        stopped = true
        let waiting = queue
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
        for job in waiting { job.finish(.failure(APIError.internalError("the server is shutting down"))) }
    }

    public var currentStatistics: Statistics {
        condition.lock(); defer { condition.unlock() }
        return statistics
    }

    /// Requests waiting for the engine now.
    public var queued: Int {
        condition.lock(); defer { condition.unlock() }
        return queue.count
    }

    /// Runs `requests` (the prompts of one HTTP request) under `policy`.
    public func submit(_ requests: [TokenCompletionRequest], policy: ServedPolicy) async throws -> [TokenCompletion] {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[TokenCompletion], any Error>) in
            condition.lock()
            if stopped {
                condition.unlock()
                continuation.resume(throwing: APIError.internalError("the server is shutting down"))
                return
            }
            if queue.count >= capacity {
                statistics.refusedQueueFull += 1
                condition.unlock()
                continuation.resume(throwing: APIError.queueFull(capacity: capacity))
                return
            }
            queue.append(Job(policy: policy, requests: requests, finish: { continuation.resume(with: $0) }))
            condition.signal()
            condition.unlock()
        }
    }

    private func work() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopped { condition.wait() }
            if stopped { condition.unlock(); return }
            let batch = queue
            queue.removeAll()
            condition.unlock()
            run(batch)
        }
    }

    /// One engine call per policy, in order of first arrival; a call that fails is retried job by
    /// job, so one refused request never fails the others of its batch.
    private func run(_ batch: [Job]) {
        var order: [ServedPolicy] = []
        var groups: [ServedPolicy: [Job]] = [:]
        for job in batch {
            if groups[job.policy] == nil { order.append(job.policy) }
            groups[job.policy, default: []].append(job)
        }
        for policy in order {
            let jobs = groups[policy]!
            let all = jobs.flatMap(\.requests)
            condition.lock()
            statistics.engineCalls += 1
            statistics.largestBatch = max(statistics.largestBatch, jobs.count)
            statistics.requests += jobs.count
            condition.unlock()
            let started = Date()
            defer {
                condition.lock()
                statistics.engineSeconds += Date().timeIntervalSince(started)
                condition.unlock()
            }
            if jobs.count > 1, let results = try? engine.complete(all, policy: layerPolicy(policy)) {
                var start = 0
                for job in jobs {
                    job.finish(.success(Array(results[start..<(start + job.requests.count)])))
                    start += job.requests.count
                }
                continue
            }
            for job in jobs {
                job.finish(Result { try engine.complete(job.requests, policy: layerPolicy(policy)) })
            }
        }
    }
}
