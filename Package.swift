// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cairn", targets: ["CairnCLI"]),
        .library(name: "CairnModel", targets: ["CairnModel"]),
        .library(name: "CairnOTLP", targets: ["CairnOTLP"]),
        .library(name: "CairnStore", targets: ["CairnStore"]),
        .library(name: "CairnSQLite", targets: ["CairnSQLite"]),
        .library(name: "CairnPostgres", targets: ["CairnPostgres"]),
        .library(name: "CairnAnalysis", targets: ["CairnAnalysis"]),
        .library(name: "CairnCollector", targets: ["CairnCollector"]),
        .library(name: "CairnTesting", targets: ["CairnTesting"]),
        .library(name: "CairnSDK", targets: ["CairnSDK"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", exact: "1.7.3"),
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
    ],
    targets: [
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "COTLP", dependencies: ["CProtobufC"], cSettings: [.headerSearchPath("include")]),
        .target(name: "CairnModel", swiftSettings: strict),
        .target(name: "CairnOTLP", dependencies: ["CairnModel", "COTLP", "CProtobufC"], swiftSettings: strict),
        .target(name: "CairnStore", dependencies: ["CairnModel", "CairnOTLP"], swiftSettings: strict),
        .target(
            name: "CairnSQLite",
            dependencies: [
                "CairnStore", "CairnOTLP",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict),
        .target(
            name: "CairnPostgres",
            dependencies: [
                "CairnStore", "CairnOTLP", "CairnModel",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(name: "CairnAnalysis", dependencies: ["CairnModel"], swiftSettings: strict),
        .target(
            name: "CairnCollector",
            dependencies: [
                "CairnOTLP", "CairnStore", "CairnAnalysis", "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "CairnCLI",
            dependencies: [
                "CairnCollector", "CairnSQLite", "CairnPostgres", "CairnOTLP", "CairnAnalysis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .target(
            name: "CairnSDK",
            dependencies: [
                "CairnModel",
                "CairnOTLP", "CZlib",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .target(name: "CairnTesting", dependencies: ["CairnModel", "CairnOTLP", "CairnStore"], swiftSettings: strict),
        // A traced service in a process of its own, for CairnSDKTests' end-to-end test (built by `swift build --build-tests`).
        .executableTarget(
            name: "CairnSDKProbe",
            dependencies: [
                "CairnSDK",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/SDKProbe", swiftSettings: strict),

        .testTarget(
            name: "CairnSDKTests",
            dependencies: [
                "CairnSDK", "CairnModel", "CairnTesting",
                "CairnOTLP", "CZlib",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict),
        .testTarget(name: "CairnModelTests", dependencies: ["CairnModel"], swiftSettings: strict),
        .testTarget(name: "CairnOTLPTests", dependencies: ["CairnOTLP", "CairnTesting", "COTLP"], swiftSettings: strict),
        .testTarget(name: "CairnAnalysisTests", dependencies: ["CairnAnalysis", "CairnTesting"], swiftSettings: strict),
        .testTarget(name: "CairnSQLiteTests", dependencies: ["CairnSQLite", "CairnTesting"], swiftSettings: strict),
        .testTarget(
            name: "CairnPostgresTests",
            dependencies: [
                "CairnPostgres", "CairnTesting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CairnCollectorTests",
            dependencies: [
                "CairnCollector", "CairnSQLite", "CairnTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strict),
        .testTarget(
            name: "CairnCLITests", dependencies: ["CairnTesting", "CairnOTLP"], exclude: ["Fixtures", "Expected"],
            swiftSettings: strict),
    ]
)
