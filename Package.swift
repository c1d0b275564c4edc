// swift-tools-version:6.0
import PackageDescription

/// The numeric modules are always optimised, even in debug builds: an unoptimised transformer forward
/// is ~50x slower and would make the real-model tests unusable. On x86_64 they target AVX2/FMA
/// (any x86_64 CPU since 2013): the fused dequantise-and-dot kernels run ~2x faster than with the
/// SSE2 baseline. Results do not change: Swift never contracts a*b+c into an FMA on its own.
#if arch(x86_64)
let cpuFlags = ["-target-cpu", "haswell"]
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
    ],
    targets: [
        // MARK: - System libraries (Debian -dev packages)
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJSONC", pkgConfig: "json-c", providers: [.apt(["libjson-c-dev"])]),
        .systemLibrary(name: "CCSV", providers: [.apt(["libcsv-dev"])]),

        // MARK: - Modules, one job each
        .target(name: "Engine", dependencies: ["CBLAS", "CJSONC"], swiftSettings: engineSettings),
        .target(name: "Benchmarks", dependencies: ["Engine", "CJSONC", "CCSV"], swiftSettings: engineSettings),
        .target(name: "Routing", dependencies: ["Engine", "CBLAS"], swiftSettings: engineSettings),
        .target(name: "Harness", dependencies: ["Engine", "Benchmarks", "Routing", "CCSV", "CJSONC"], swiftSettings: engineSettings),

        // MARK: - Command-line interface
        .executableTarget(
            name: "bench",
            dependencies: [
                "Engine", "Benchmarks", "Routing", "Harness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: - Tests
        .testTarget(name: "EngineTests", dependencies: ["Engine"], exclude: ["Fixtures"]),
        .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "Engine"]),
        .testTarget(name: "RoutingTests", dependencies: ["Routing", "Engine"]),
        // "bench": the end-to-end tests (CLIEndToEndTests) run the real executable, so `swift test` must build it.
        .testTarget(name: "HarnessTests", dependencies: ["Harness", "Benchmarks", "Engine", "Routing", "bench"]),
    ]
)
