// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

// The engine runs on Linux (glibc 2.29 or later): what it needs beyond POSIX is in
// Sources/Bond/Platform.swift and Sources/CBondSystem.
let package = Package(
    name: "bond",
    products: [
        .library(name: "Bond", targets: ["Bond"]),
        .executable(name: "bond-workbench", targets: ["bond-workbench"]),
        .executable(name: "bond-bench", targets: ["bond-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "Bond",
            dependencies: [
                "CBondSystem",
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(name: "CBondSystem"),
        .target(
            name: "Workbench",
            dependencies: ["Bond", .product(name: "OrderedCollections", package: "swift-collections")],
            swiftSettings: strict
        ),
        .systemLibrary(
            name: "CNcurses",
            providers: [.apt(["libncurses-dev"])]
        ),
        .executableTarget(
            name: "bond-workbench",
            dependencies: [
                "Bond", "Workbench", "CNcurses",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "bond-bench",
            dependencies: ["Bond", "Workbench", "CBondSystem", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strict
        ),
        .testTarget(name: "BondTests", dependencies: ["Bond", "CBondSystem"], swiftSettings: strict),
        // (The program's executor is tested too: bond-workbench is imported as a module.)
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "Bond", "bond-workbench"], swiftSettings: strict),
    ]
)
