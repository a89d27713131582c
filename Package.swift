// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "svcconf",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SvcConf", targets: ["SvcConf"]),
        .library(name: "SvcConfCrypto", targets: ["SvcConfCrypto"]),
        .library(name: "SvcConfYAML", targets: ["SvcConfYAML"]),
        .executable(name: "svcconf", targets: ["svcconf"]),
        .executable(name: "svcconf-cli", targets: ["svcconf-cli"]),
        .executable(name: "svcconf-server", targets: ["svcconf-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // The HTTP server (svcconf-server) only.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Hummingbird's own I/O layer; named so svcconf-server can run Swift concurrency on its event loops.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // libcrypto from the system (apt: libssl-dev). Only SvcConfCrypto imports it.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "SvcConfCrypto", dependencies: ["COpenSSL"]),
        // SigV4, S3 and KMS clients, AWS credentials: Foundation-free, over an HTTPTransport protocol.
        .target(name: "SvcConfAWS", dependencies: ["SvcConfCrypto"]),
        // The HTTP transport for the AWS clients: Foundation's URLSession (system libcurl, OpenSSL).
        .target(name: "SvcConfHTTP", dependencies: ["SvcConfAWS"]),
        // The core: sealed format, keys, stores, config model, diff. Foundation-free, so the container
        // entrypoint that links it starts fast.
        .target(name: "SvcConf", dependencies: ["SvcConfCrypto", "SvcConfAWS"]),
        // YAML in and out (Yams, which brings Foundation): only the full CLI and the server link it.
        .target(name: "SvcConfYAML", dependencies: ["SvcConf", .product(name: "Yams", package: "Yams")]),
        // `svcconf`: a small launcher that runs `exec` itself and hands every other command to svcconf-cli.
        .executableTarget(name: "svcconf", dependencies: ["SvcConf"]),
        // `svcconf-cli`: every command, on swift-argument-parser.
        .executableTarget(name: "svcconf-cli", dependencies: [
            "SvcConf", "SvcConfYAML", "SvcConfHTTP", "SvcConfAuth",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Bearer tokens of svcconf-server (mint, hash, token file, scopes): shared by the server and
        // `svcconf token mint`, so the CLI does not link the HTTP stack. Foundation-free.
        .target(name: "SvcConfAuth", dependencies: ["SvcConf", "SvcConfCrypto"]),
        // The HTTP API (svcconf-server): routes, auth, limits, metrics over the same core use-cases.
        // A library so tests drive it in-process; the executable only parses flags and runs it.
        .target(name: "SvcConfServer", dependencies: [
            "SvcConf", "SvcConfAuth", "SvcConfCrypto", "SvcConfYAML", "SvcConfAWS", "SvcConfHTTP",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "svcconf-server", dependencies: [
            "SvcConfServer", "SvcConf", "SvcConfHTTP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .executableTarget(name: "svcconf-bench", dependencies: ["SvcConf", "SvcConfCrypto", "SvcConfAWS"], path: "Sources/svcconf-bench"),
        .testTarget(name: "SvcConfCryptoTests", dependencies: ["SvcConfCrypto"]),
        .testTarget(name: "SvcConfAWSTests", dependencies: ["SvcConfAWS", "SvcConfHTTP"]),
        .testTarget(name: "SvcConfTests", dependencies: ["SvcConf", "SvcConfYAML", "SvcConfAWS"]),
        // posix_spawn helpers shared by the test targets (a test target cannot import another).
        .target(name: "SvcConfTestSupport", path: "Tests/SvcConfTestSupport"),
        .testTarget(name: "SvcConfCLITests", dependencies: ["SvcConf", "SvcConfAWS", "SvcConfHTTP", "SvcConfTestSupport"]),
        .testTarget(name: "SvcConfServerTests", dependencies: [
            "SvcConfServer", "SvcConf", "SvcConfAuth", "SvcConfCrypto", "SvcConfYAML", "SvcConfTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
