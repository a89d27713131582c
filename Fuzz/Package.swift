// swift-tools-version: 6.0
// Fuzz targets for svcconf, in their own package so the main build never needs libFuzzer.
// Built and run by scripts/fuzz (which links `.deps/svcconf` to the repository root, so the
// dependency's identity is `svcconf` wherever the checkout lives):
//   swift build -c debug -Xswiftc -sanitize=fuzzer,address --product fuzz-targets
import PackageDescription

let package = Package(
    name: "svcconf-fuzz",
    dependencies: [.package(path: ".deps/svcconf")],
    targets: [
        .target(name: "CFuzzShim", path: "Sources/CFuzzShim"),
        .executableTarget(name: "fuzz-targets", dependencies: [
            "CFuzzShim",
            .product(name: "SvcConf", package: "svcconf"),
            .product(name: "SvcConfYAML", package: "svcconf"),
        ], path: "Sources/fuzz-targets"),
    ],
    swiftLanguageModes: [.v6]
)
