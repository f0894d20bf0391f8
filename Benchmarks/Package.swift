// swift-tools-version:6.1
import PackageDescription

// Benchmarks for Cairn live in their own package so that package-benchmark and the load generator's
// dependencies never slow down the main build. See ../scripts/bench-ingest for the end-to-end measurement.

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "CairnBenchmarks",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cairn-loadgen", targets: ["CairnLoadgen"]),
        .executable(name: "cairn-insertbench", targets: ["CairnInsertBench"]),
        .executable(name: "cairn-exportbench", targets: ["CairnExportBench"]),
    ],
    dependencies: [
        // Named, so that target dependencies do not depend on the name of the checkout's directory.
        .package(name: "Cairn", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        // Only for SDKBenchmarks: CairnSDK side by side with swift-otel (issue 3). Without its OTLPGRPC trait (the
        // gRPC exporter, unused here) it builds without gRPC; with no trait at all 1.6.0 does not compile (Foundation).
        .package(url: "https://github.com/swift-otel/swift-otel", exact: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/apple/swift-distributed-tracing", exact: "1.7.3"),
    ],
    targets: [
        // package-benchmark target: the plugin discovers it under Benchmarks/<Name>/.
        .executableTarget(
            name: "IngestBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnOTLP", package: "Cairn"),
                .product(name: "CairnSQLite", package: "Cairn"),
                "CairnBenchSupport",
            ],
            path: "Benchmarks/IngestBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // package-benchmark target: queries of the SQLite store (or the PostgreSQL one at CAIRN_BENCH_STORE) over a
        // cached store of CAIRN_BENCH_SPANS spans (Benchmarks/.data/); see ../scripts/bench-query and bench-postgres.
        .executableTarget(
            name: "QueryBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnAnalysis", package: "Cairn"),
                .product(name: "CairnCollector", package: "Cairn"),
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnOTLP", package: "Cairn"),
                .product(name: "CairnSQLite", package: "Cairn"),
                .product(name: "CairnPostgres", package: "Cairn"),
                .product(name: "CairnStore", package: "Cairn"),
                .product(name: "CairnTesting", package: "Cairn"),
            ],
            path: "Benchmarks/QueryBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // package-benchmark target: the analyzer on one trace of 10,000 and 100,000 spans; see ../scripts/bench-analysis.
        .executableTarget(
            name: "AnalysisBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnAnalysis", package: "Cairn"),
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnTesting", package: "Cairn"),
            ],
            path: "Benchmarks/AnalysisBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // package-benchmark target: starting and ending spans through swift-distributed-tracing, CairnSDK beside
        // swift-otel in the same run; see ../scripts/bench-sdk.
        .executableTarget(
            name: "SDKBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CairnSDK", package: "Cairn"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
            ],
            path: "Benchmarks/SDKBenchmarks",
            swiftSettings: strict,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Pre-encoded requests with fresh trace ids, shared by the benchmarks and the load generator.
        .target(
            name: "CairnBenchSupport",
            dependencies: [
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnOTLP", package: "Cairn"),
                .product(name: "CairnTesting", package: "Cairn"),
            ],
            path: "Sources/CairnBenchSupport",
            swiftSettings: strict
        ),
        // The load generator: posts pre-encoded OTLP/HTTP protobuf requests over keep-alive connections.
        .executableTarget(
            name: "CairnInsertBench",
            dependencies: [
                "CairnBenchSupport",
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnOTLP", package: "Cairn"),
                .product(name: "CairnSQLite", package: "Cairn"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "CairnLoadgen",
            dependencies: [
                "CairnBenchSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CairnLoadgen",
            swiftSettings: strict
        ),
        // One service ending spans at a paced rate through CairnSDK's default export pipeline into a collector;
        // see ../scripts/bench-export.
        .executableTarget(
            name: "CairnExportBench",
            dependencies: [
                .product(name: "CairnSDK", package: "Cairn"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/CairnExportBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "CairnBenchSupportTests",
            dependencies: [
                "CairnBenchSupport",
                .product(name: "CairnModel", package: "Cairn"),
                .product(name: "CairnOTLP", package: "Cairn"),
            ],
            path: "Tests/CairnBenchSupportTests",
            swiftSettings: strict
        ),
    ]
)
