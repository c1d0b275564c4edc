import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed team of threads for the engine's data-parallel loops: the caller plus `size − 1`
/// persistent workers.
///
/// Decode calls ~200 small matrix products per token, each a few tens of microseconds; waking
/// threads through Dispatch for each costs as much as the work itself (measured: 2 threads were no
/// faster than 1). Workers here spin briefly on an atomic generation counter between jobs and only
/// then block on a condition variable, so back-to-back jobs start within a microsecond.
///
/// Work is split by index (`0..<size`), never by timing, so which thread computes what is fixed and
/// results do not depend on scheduling.
public final class WorkerTeam: @unchecked Sendable {
    /// Threads taking part in `run`, the caller included.
    public let size: Int

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let sleeping = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    // Written by the caller before the release-store of `generation`; read by workers after it.
    private nonisolated(unsafe) var job: ((Int) -> Void)?
    private var threads: [pthread_t] = []

    /// Spin iterations (with a yield every 512) before a worker blocks: long enough to bridge the
    /// gaps between the matrix products of a decode step, short enough not to burn a core idle.
    private let spinLimit = 20_000

    public init(size: Int) {
        self.size = max(1, size)
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for index in 1..<self.size {
            let context = Unmanaged.passRetained(WorkerContext(team: self, index: index)).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let ctx = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                ctx.team.workerLoop(index: ctx.index)
                return nil
            }, context)
            precondition(rc == 0, "pthread_create failed: \(rc)")
            threads.append(thread)
        }
    }

    deinit {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(&mutex)
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
        for t in threads { pthread_join(t, nil) }
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    /// Runs `body(i)` for every `i` in `0..<size`, `i = 0` on the calling thread; returns when all
    /// are done. Not reentrant: one `run` at a time.
    public func run(_ body: (Int) -> Void) {
        if size == 1 {
            body(0)
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body
            pending.store(size - 1, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleeping.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(&mutex)
                pthread_cond_broadcast(&condition)
                pthread_mutex_unlock(&mutex)
            }
            body(0)
            var spins = 0
            while pending.load(ordering: .acquiring) > 0 {
                spins &+= 1
                // Yield now and then so a spinning team never starves another process's threads
                // when the machine is oversubscribed (two runs on two cores).
                if spins & 511 == 0 { sched_yield() }
            }
            job = nil
        }
    }

    private func workerLoop(index: Int) {
        // Not `generation.load()`: the first job may be published before this thread starts,
        // and it must still be seen as new. No job exists before `init` returns, so 0 is right.
        var seen = 0
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins += 1
                if spins & 511 == 0 { sched_yield() }
                if spins < spinLimit { continue }
                pthread_mutex_lock(&mutex)
                sleeping.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(&condition, &mutex)
                }
                sleeping.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(&mutex)
            }
            seen = generation.load(ordering: .acquiring)
            if stopping.load(ordering: .acquiring) { return }
            job?(index)
            pending.subtract(1, ordering: .releasing)
        }
    }
}

/// What a worker thread needs. The team is held unowned: its deinit stops and joins every worker
/// before its storage goes away, and a strong reference here would keep it alive forever.
private final class WorkerContext {
    unowned(unsafe) let team: WorkerTeam
    let index: Int
    init(team: WorkerTeam, index: Int) {
        self.team = team
        self.index = index
    }
}
