import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Support

/// Progress of one task on stderr: a redrawn bar on a terminal, plain lines every few seconds
/// otherwise (logs and CI output stay readable).
///
/// Rate and ETA count only documents done in this session, so a resumed run does not claim the
/// speed of the records it skipped.
public struct ProgressReporter {
    /// How progress is shown.
    public enum Style: Sendable, Equatable {
        /// One line redrawn in place (`\r`), at most every `interval` seconds.
        case bar
        /// A full line every `interval` seconds, plus the first and the last.
        case lines
        /// Nothing.
        case silent

        /// `.bar` when stderr is a terminal, else `.lines`.
        public static var automatic: Style { isatty(STDERR_FILENO) != 0 ? .bar : .lines }
    }

    public let label: String
    public let total: Int
    public let style: Style
    /// Seconds between redraws (bar) or lines.
    public let interval: Double
    private let now: () -> Double
    private let write: (String) -> Void
    private let startDone: Int
    private let startTime: Double
    private var lastShown: Double
    /// Documents done, including those done before this session.
    public private(set) var done: Int

    /// - Parameters:
    ///   - label: what is running (the task name).
    ///   - total: documents in the task.
    ///   - alreadyDone: documents finished before (resumed).
    ///   - now: a monotonic clock in seconds (injectable for tests).
    ///   - write: where text goes (stderr by default).
    public init(label: String, total: Int, alreadyDone: Int = 0, style: Style = .automatic, interval: Double? = nil,
                now: @escaping () -> Double = MonotonicClock.seconds,
                write: @escaping (String) -> Void = ProgressReporter.writeToStandardError) {
        self.label = label
        self.total = total
        self.style = style
        self.interval = interval ?? (style == .bar ? 0.2 : 5)
        self.now = now
        self.write = write
        self.startDone = alreadyDone
        self.done = alreadyDone
        self.startTime = now()
        self.lastShown = -Double.infinity
        if style == .lines {
            write("\(label): starting, \(alreadyDone)/\(total) already done\n")
            lastShown = startTime
        } else if style == .bar {
            show(force: true)
        }
    }

    /// Documents per second in this session; nil before the first one.
    public var rate: Double? {
        let elapsed = now() - startTime
        let count = done - startDone
        return count > 0 && elapsed > 0 ? Double(count) / elapsed : nil
    }

    /// Estimated seconds left; nil while the rate is unknown.
    public var etaSeconds: Double? { rate.map { Double(max(0, total - done)) / $0 } }

    /// Records `count` more finished documents and redraws if it is time.
    public mutating func advance(by count: Int = 1) {
        done += count
        show(force: false)
    }

    /// Final line: total, time spent, rate.
    public mutating func finish() {
        let elapsed = now() - startTime
        switch style {
        case .bar:
            show(force: true)
            write("\n")
        case .lines:
            write("\(label): \(done)/\(total) done in \(Self.duration(elapsed))\(rate.map { String(format: ", %.2f/s", $0) } ?? "")\n")
        case .silent:
            break
        }
    }

    /// The status text without bar: `12/50 (24%)  3.10/s  ETA 0:12`.
    public var statusText: String {
        let percent = total > 0 ? 100 * done / total : 100
        var s = "\(done)/\(total) (\(percent)%)"
        if let rate { s += String(format: "  %.2f/s", rate) }
        if let eta = etaSeconds { s += "  ETA \(Self.duration(eta))" }
        return s
    }

    /// A bar of `width` cells for `done/total`.
    public static func bar(done: Int, total: Int, width: Int = 24) -> String {
        let filled = total > 0 ? min(width, width * done / total) : width
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]"
    }

    /// `h:mm:ss` or `m:ss`.
    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let h = s / 3600, m = (s % 3600) / 60, sec = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, sec) : String(format: "%d:%02d", m, sec)
    }

    private mutating func show(force: Bool) {
        let t = now()
        guard force || t - lastShown >= interval || (done >= total && style == .bar) else { return }
        switch style {
        case .bar:
            // \r returns to column 0, ESC[K clears what a longer previous line left behind.
            write("\r\(label) \(Self.bar(done: done, total: total)) \(statusText)\u{1B}[K")
        case .lines:
            write("\(label): \(statusText)\n")
        case .silent:
            return
        }
        lastShown = t
    }

    /// Writes unbuffered to stderr.
    public static func writeToStandardError(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The table printed when a run ends: one row per task with the primary metric and layers.
public enum ScoreTable {
    /// Markdown rows: task, run, metric, value ± stderr in points, n, layers per document.
    public static func markdown(_ summaries: [TaskSummary]) -> String {
        var table = MarkdownTable(header: ["task", "run", "metric", "score", "± SE", "n", "layers/doc", "complete"],
                                  alignments: [.left, .left, .left, .right, .right, .right, .right, .left])
        for s in summaries {
            let m = s.metrics[s.primaryMetric]
            table.rows.append([s.task, s.run, s.primaryMetric,
                               NumberText.fixed(m.map { $0.value * s.pointsScale }, 1),
                               NumberText.fixed(m?.stderr.map { $0 * s.pointsScale }, 1),
                               String(s.n), NumberText.fixed(s.layers.meanBlockApplications, 1),
                               s.complete ? "yes" : "\(s.n)/\(s.documents)"])
        }
        return table.render()
    }
}

/// While one batch of documents runs, writes a line every `interval` seconds saying that it is
/// still running: a batch of long generations (AIME's 8k-token answers) can take minutes, and a
/// log that stays silent that long looks like a hang.
final class BatchHeartbeat: @unchecked Sendable {
    private let timer: DispatchSourceTimer
    private let lock = NSLock()
    private var stopped = false

    /// Starts the timer; `message` gets the seconds since the start.
    init(interval: Double, message: @escaping (Double) -> String, write: @escaping (String) -> Void) {
        let start = MonotonicClock.seconds()
        // The closures are only called from the timer's serial handler, under the lock.
        let output = UncheckedBox((message, write))
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "drllm.heartbeat"))
        timer.schedule(deadline: .now() + interval, repeating: interval)
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            self.lock.lock()
            defer { self.lock.unlock() }
            guard !self.stopped else { return }
            let (message, write) = output.value
            write(message(MonotonicClock.seconds() - start))
        }
        timer.resume()
    }

    /// Stops the timer; no line is written after this returns.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
        timer.cancel()
    }

    deinit { timer.cancel() }
}

/// Carries a non-Sendable value to a queue that is the only one using it.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
