import Foundation

/// Seconds on the monotonic clock: what every duration in records, progress lines and speed
/// reports is measured with (wall-clock time can jump; this cannot).
public enum MonotonicClock {
    /// Seconds since an arbitrary fixed point (differences are what count).
    public static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
