// swift-tools-version:6.0
import PackageDescription

import Foundation

/// The numeric modules are always optimised, even in debug builds: an unoptimised transformer forward
/// is ~50x slower and would make the real-model tests unusable. On x86_64 they target AVX2/FMA
/// (any x86_64 CPU since 2013): the fused dequantise-and-dot kernels run ~2x faster than with the
/// SSE2 baseline. Where the building machine has Zen 4's AVX-512 feature set (it is read from
/// /proc/cpuinfo, like llama.cpp's native builds), they target `znver4` instead: the 16-lane kernels
/// then use one 512-bit register per vector, ~8% faster decode here. Results do not change either
/// way: Swift never contracts a*b+c into an FMA on its own and the kernels fix their reduction order.
/// `DRLLM_TARGET_CPU=<llvm cpu>` overrides the choice (e.g. `haswell` for a binary to copy elsewhere).
#if arch(x86_64)
let cpuFlags: [String] = {
    if let cpu = ProcessInfo.processInfo.environment["DRLLM_TARGET_CPU"], !cpu.isEmpty { return ["-target-cpu", cpu] }
    let zen4Features: Set<Substring> = ["avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl",
                                        "avx512ifma", "avx512vbmi", "avx512_vbmi2", "avx512_vnni", "avx512_bitalg",
                                        "avx512_vpopcntdq", "avx512_bf16", "gfni", "vaes", "vpclmulqdq"]
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
    return ["-target-cpu", zen4Features.isSubset(of: flags) ? "znver4" : "haswell"]
}()
#else
let cpuFlags: [String] = []
#endif
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(cpuFlags),
]

let package = Package(
    name: "DrLLMBench",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "bench", targets: ["bench"]),
        .library(name: "Engine", targets: ["Engine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.20.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian -dev packages)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(name: "CCSV", providers: [.apt(["libcsv-dev"])]),

        // MARK: - Modules, one job each
        // Seeded RNGs, SHA-256, canonical JSON, the clock: the small utilities every module shares.
        .target(name: "Support", swiftSettings: engineSettings),
        .target(name: "Engine", dependencies: ["CBLAS", "Support"], swiftSettings: engineSettings),
        .target(name: "Benchmarks", dependencies: ["Engine", "Support", "CJSONC", "CCSV"], swiftSettings: engineSettings),
        .target(name: "Routing", dependencies: ["Engine", "Support", "CBLAS"], swiftSettings: engineSettings),
        // OpenAIBackend: a model behind an OpenAI-compatible completions server, as lm-eval's local-completions reaches it.
        .target(name: "OpenAIBackend", dependencies: ["Engine", .product(name: "AsyncHTTPClient", package: "async-http-client")]),
        // Serving: the engine behind an OpenAI-compatible completions API (`bench serve`).
        .target(name: "Serving", dependencies: ["Engine", "Benchmarks", .product(name: "Hummingbird", package: "hummingbird"),
                                                .product(name: "Logging", package: "swift-log")]),
        // Runs: executing benchmarks, durable records, resume, summaries, statistics, progress.
        .target(name: "Runs", dependencies: ["Engine", "Benchmarks", "Routing", "Support", "OpenAIBackend"], swiftSettings: engineSettings),
        // Reports: comparisons and their renderers (Markdown, CSV, SVG, README).
        .target(name: "Reports", dependencies: ["Runs", "Benchmarks", "Support", "CCSV"], swiftSettings: engineSettings),
        // Supervision: MCTS path search over training data, router training data.
        .target(name: "Supervision", dependencies: ["Runs", "Reports", "Engine", "Benchmarks", "Routing", "Support"], swiftSettings: engineSettings),

        // MARK: - Command-line interface
        .executableTarget(
            name: "bench",
            dependencies: [
                "Engine", "Benchmarks", "Routing", "Runs", "Reports", "Supervision", "Support", "OpenAIBackend", "Serving",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "EngineTests", dependencies: ["Engine", "Support", "FuzzSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Engine", "Support", "FuzzSupport"]),
        .testTarget(name: "OpenAIBackendTests", dependencies: ["OpenAIBackend", "Engine"]),
        // Deterministic byte mutations shared by the bounded fuzz tests of every untrusted-bytes reader.
        .target(name: "FuzzSupport", dependencies: ["Support"], path: "Tests/FuzzSupport"),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Engine", "Benchmarks", "OpenAIBackend", "Routing", "FuzzSupport"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "Engine", "Support"]),
        // "bench": the end-to-end tests (CLIEndToEndTests) run the real executable, so `swift test` must build it.
        .testTarget(name: "HarnessTests", dependencies: ["Runs", "Reports", "Supervision", "Benchmarks", "Engine", "Routing", "Support", "bench"]),
    ]
)
