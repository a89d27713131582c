// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "svcconf",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SvcConf", targets: ["SvcConf"]),
        .library(name: "SvcConfCrypto", targets: ["SvcConfCrypto"]),
        .executable(name: "svcconf", targets: ["svcconf"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libcrypto from the system (apt: libssl-dev). Only SvcConfCrypto imports it.
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(name: "SvcConfCrypto", dependencies: ["COpenSSL"]),
        .target(name: "SvcConf", dependencies: [
            "SvcConfCrypto",
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "svcconf", dependencies: [
            "SvcConf",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "svcconf-bench", dependencies: ["SvcConf", "SvcConfCrypto"], path: "Sources/svcconf-bench"),
        .testTarget(name: "SvcConfCryptoTests", dependencies: ["SvcConfCrypto"]),
        .testTarget(name: "SvcConfTests", dependencies: ["SvcConf"]),
        .testTarget(name: "SvcConfCLITests", dependencies: ["SvcConf"]),
    ],
    swiftLanguageModes: [.v6]
)
