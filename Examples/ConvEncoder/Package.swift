// swift-tools-version: 6.0
// An out-of-tree Glossa plugin: a 1-D convolutional sentence encoder and an attention pooler, built as a
// shared library that the stock `glossa` loads with `--plugin`.
import PackageDescription

let package = Package(
    name: "ConvEncoder",
    products: [
        // The plugin library: .build/release/libConvEncoder.so.
        .library(name: "ConvEncoder", type: .dynamic, targets: ["ConvEncoder"]),
        // The same code linked statically, for `glossa bench plugin --static-runner`.
        .executable(name: "conv-encoder-bench", targets: ["ConvEncoderBench"]),
    ],
    dependencies: [
        // A third party writes `.package(url: "<Glossa's repository>", from: "…")`; this example lives inside it.
        .package(name: "Glossa", path: "../.."),
    ],
    targets: [
        .target(
            name: "ConvEncoder",
            // The SDK as a shared library, never a static copy: the plugin's references to SDK symbols stay
            // undefined, and the dynamic loader binds them to the host's copy (see PluginLibrary).
            dependencies: [.product(name: "GlossaSDK", package: "Glossa")]),
        .executableTarget(
            name: "ConvEncoderBench",
            dependencies: ["ConvEncoder", .product(name: "GlossaSDK", package: "Glossa")]),
        .testTarget(
            name: "ConvEncoderTests",
            dependencies: ["ConvEncoder", .product(name: "GlossaTestSupport", package: "Glossa")]),
    ],
    swiftLanguageModes: [.v6]
)
