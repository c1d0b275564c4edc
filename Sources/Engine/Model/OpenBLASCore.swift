import CBLAS
import Foundation

/// Which of OpenBLAS's kernel families ("core types") the process uses, and a notice for when the
/// environment forces one that leaves the CPU's AVX-512 unused.
///
/// Why this matters: a DYNAMIC_ARCH OpenBLAS (Debian's) picks its sgemm kernels at load time from
/// the CPU, or from `OPENBLAS_CORETYPE` when that is set. The family fixes the speed and the last
/// bits of every sgemm result (tiles and reduction order differ), so records made with different
/// families agree only to about 1e-6 in their log-likelihoods. Measured on a 2-core AMD EPYC with
/// AVX-512 and BF16 (family 26) with OpenBLAS 0.3.21, one thread (`bench perf --threads 1`):
/// OpenBLAS's own choice there, Cooperlake, gives SmolLM2 prefill 811 tokens/s and sgemm 222
/// GFLOP/s on the model's shapes; `OPENBLAS_CORETYPE=Haswell`, which that machine's environment
/// exported, 489 and 127; with Haswell the prefix cache's exactness probe also declined every
/// share (`PrefixReuseProbe`: those kernels compute a row differently in differently shaped calls).
/// The engine leaves the choice to OpenBLAS and the user, and makes it visible: `bench perf`
/// reports it, each run records it (`blas_cores`), and `bench run` prints `forcedFamilyNotice`
/// when it applies.
public enum OpenBLASCore {
    /// The kernel family OpenBLAS uses in this process, e.g. "Cooperlake" or "Haswell".
    public static var name: String { String(cString: openblas_get_corename()) }

    /// Whether `family` names one of OpenBLAS's AVX-512 kernel families (case-insensitive).
    public static func isAVX512Family(_ family: String) -> Bool {
        ["skylakex", "cooperlake", "sapphirerapids"].contains(family.lowercased())
    }

    /// Whether this process runs OpenBLAS's AVX-512 kernels: the families where the prefix cache's
    /// exactness probe was seen to allow reuse (Cooperlake on AMD families 25 and 26).
    public static var usesAVX512Kernels: Bool { isAVX512Family(name) }

    /// OpenBLAS's AVX-512 family for a CPU with these flags ("Cooperlake" with BF16, else
    /// "SkylakeX"), or nil for a CPU without the AVX-512 subset those kernels need.
    public static func avx512Family(cpuFlags: Set<String>) -> String? {
        let skylakeX: Set<String> = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
        guard skylakeX.isSubset(of: cpuFlags) else { return nil }
        return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
    }

    /// The notice to print when `OPENBLAS_CORETYPE` (`forced`) puts OpenBLAS on a family without
    /// AVX-512 (`current`) on a CPU that has it; nil otherwise.
    public static func forcedFamilyNotice(current: String, cpuFlags: Set<String>, forced: String?) -> String? {
        guard let forced, !forced.isEmpty, let better = avx512Family(cpuFlags: cpuFlags) else { return nil }
        guard !isAVX512Family(current) else { return nil }
        return "note: OPENBLAS_CORETYPE=\(forced) puts OpenBLAS on its \(current) kernels although this CPU has "
            + "AVX-512 (\(better)): prefill runs about 1.7× slower, the prefix cache may decline its shares, and "
            + "log-likelihoods differ in their last digits from records made with \(better) kernels. "
            + "Unset OPENBLAS_CORETYPE to let OpenBLAS choose."
    }

    /// `forcedFamilyNotice` for this process and machine.
    public static var forcedFamilyNotice: String? {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return forcedFamilyNotice(current: name, cpuFlags: cpuFlags(cpuinfo: info),
                                  forced: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"])
    }

    /// The CPU's flags from the first `flags` line of `/proc/cpuinfo` (empty where there is none).
    static func cpuFlags(cpuinfo: String) -> Set<String> {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
              let colon = line.firstIndex(of: ":") else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
}
