// swift-tools-version: 6.0
import Foundation
import PackageDescription

let package = Package(
    name: "Glossa",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "glossa", targets: ["GlossaCLI"]),
        .library(name: "Glossa", targets: ["Glossa"]),
        // BLEU and chrF alone, Foundation only: scoring translations needs neither OpenBLAS nor oneDNN.
        .library(name: "GlossaMetrics", targets: ["GlossaMetrics"]),
        .library(name: "GlossaNN", targets: ["GlossaNN"]),
        .library(name: "GlossaTensor", targets: ["GlossaTensor"]),
        .library(name: "GlossaSentencePiece", targets: ["GlossaSentencePiece"]),
        .library(name: "GlossaRecipes", targets: ["GlossaRecipes"]),
        .library(name: "GlossaTestSupport", targets: ["GlossaTestSupport"]),
        // The SDK as one shared library, for hosts other than `glossa` that load plugins (see PluginLibrary).
        .library(name: "GlossaSDK", type: .dynamic, targets: ["Glossa", "GlossaMetrics", "GlossaNN", "GlossaTensor"]),
        // Plugin libraries built wrongly on purpose, which the CLI tests check `glossa` refuses by name.
        .library(name: "GlossaTestStaticPlugin", type: .dynamic, targets: ["GlossaTestStaticPlugin"]),
        .library(name: "GlossaTestWrongABIPlugin", type: .dynamic, targets: ["GlossaTestWrongABIPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation --target Glossa` (DocC).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
        // SHA-256 of model files and texts for the SDK's embedding cache keys (EmbeddingCache).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // `glossa compare`'s child processes (the CLI only).
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // FileDescriptor and FilePath, the types swift-subprocess's API is written in (already its dependency).
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        // `glossa serve` (GlossaServer): HTTP, start and shutdown, structured logs, Prometheus metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries from Debian (scripts/bootstrap installs them).
        .systemLibrary(
            name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        // oneDNN 2.6 (OpenMP runtime), for int8 matrix products (QuantizedMatrix).
        .systemLibrary(
            name: "CDNNL", path: "Sources/CDNNL",
            providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(
            name: "CUTF8Proc", path: "Sources/CUTF8Proc",
            providers: [.apt(["libutf8proc-dev"])]),
        // Open MPI, for data-parallel training under `mpirun` (MPICommunicator); used only when launched by it.
        .systemLibrary(
            name: "CMPI", path: "Sources/CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"]), .brew(["open-mpi"])]),
        // A pure C face over libsentencepiece's C++ API, so no user of the SDK needs C++ interop.
        .target(
            name: "CSentencePiece", path: "Sources/CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("sentencepiece_train")]),
        // Vector kernels Swift cannot vectorise well at its baseline target (exp, row softmax, norms).
        .target(name: "CGlossaKernels", path: "Sources/CGlossaKernels"),

        .target(name: "GlossaTensor", dependencies: ["COpenBLAS", "CDNNL", "CGlossaKernels"]),
        .target(name: "GlossaNN", dependencies: ["GlossaTensor"]),
        .target(name: "GlossaMetrics"),
        .target(name: "Glossa", dependencies: ["GlossaMetrics", "GlossaNN", "GlossaTensor", "CMPI", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "GlossaSentencePiece", dependencies: ["Glossa", "GlossaNN", "CSentencePiece", "CUTF8Proc"]),
        // Model plugins: one architecture each, built only on the public SDK.
        .target(name: "GlossaMarian", dependencies: ["Glossa", "GlossaNN", "GlossaTensor"], path: "Plugins/Marian"),
        .target(name: "GlossaBERT", dependencies: ["Glossa", "GlossaNN", "GlossaTensor"], path: "Plugins/BERT"),
        .target(name: "GlossaRNN", dependencies: ["Glossa", "GlossaNN", "GlossaTensor"], path: "Plugins/RNN"),
        .target(name: "GlossaCausalLM", dependencies: ["Glossa", "GlossaNN", "GlossaTensor"], path: "Plugins/CausalLM"),
        // The WordPiece tokenizer of BERT-family checkpoints (vocab.txt).
        .target(name: "GlossaWordPiece", dependencies: ["Glossa", "GlossaNN", "CUTF8Proc"]),
        // Recipes as an SDK call: `RecipeRun(recipe:registry:).run(events:)` is what `glossa train --recipe` does, and
        // `RecipeComparison` and `ComparisonReport` what `glossa compare` plans and reports.
        .target(name: "GlossaRecipes", dependencies: ["Glossa", "GlossaNN", "GlossaTensor", "GlossaSentencePiece"]),
        .target(name: "GlossaBuiltins", dependencies: ["Glossa", "GlossaSentencePiece", "GlossaMarian", "GlossaBERT", "GlossaWordPiece", "GlossaRNN", "GlossaCausalLM"]),
        // `glossa serve`: translation, embeddings and generation over HTTP, batched across requests per model.
        .target(
            name: "GlossaServer",
            dependencies: [
                "Glossa", "GlossaNN", "GlossaTensor",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]),
        .executableTarget(
            name: "GlossaCLI",
            dependencies: [
                "Glossa", "GlossaNN", "GlossaTensor", "GlossaSentencePiece", "GlossaBuiltins", "GlossaRecipes", "GlossaServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Plugin libraries carry their own copy of the SDK; exporting the host's symbols makes the dynamic
            // loader bind the library's references to this copy, so both see one set of types (PluginLibrary).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--export-dynamic"], .when(platforms: [.linux]))]),

        // The Swift program of docs/training.md: a recipe trained from the SDK (built and run by the tests).
        .executableTarget(name: "train-recipe", dependencies: ["Glossa", "GlossaBuiltins", "GlossaRecipes"], path: "Examples/TrainRecipe"),

        // int8 (oneDNN) against fp32 (OpenBLAS) matrix products: swift run -c release int8-gemm-bench.
        .executableTarget(name: "int8-gemm-bench", dependencies: ["GlossaTensor", "CDNNL"], path: "Sources/Int8GemmBench"),

        .target(
            name: "GlossaTestSupport", dependencies: ["Glossa", "GlossaNN", "GlossaTensor"],
            path: "Tests/GlossaTestSupport"),
        .testTarget(name: "GlossaTensorTests", dependencies: ["GlossaTensor", "GlossaTestSupport"]),
        .testTarget(name: "GlossaNNTests", dependencies: ["GlossaNN", "GlossaTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "GlossaTests", dependencies: ["Glossa", "GlossaBuiltins", "GlossaTestSupport"]),
        .testTarget(name: "GlossaMetricsTests", dependencies: ["GlossaMetrics"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "GlossaSentencePieceTests", dependencies: ["GlossaSentencePiece", "GlossaTestSupport"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "GlossaMarianTests", dependencies: ["GlossaMarian", "GlossaBuiltins", "GlossaTestSupport"],
            path: "Tests/GlossaMarianTests"),
        .testTarget(
            name: "GlossaBERTTests", dependencies: ["GlossaBERT", "GlossaWordPiece", "GlossaBuiltins", "GlossaTestSupport"],
            path: "Tests/GlossaBERTTests"),
        .testTarget(
            name: "GlossaRNNTests", dependencies: ["GlossaRNN", "GlossaBuiltins", "GlossaTestSupport"],
            path: "Tests/GlossaRNNTests"),
        .testTarget(
            name: "GlossaCausalLMTests", dependencies: ["GlossaCausalLM", "GlossaBuiltins", "GlossaTestSupport"],
            path: "Tests/GlossaCausalLMTests"),
        .testTarget(name: "GlossaCLITests", dependencies: ["GlossaCLI", "GlossaTestSupport"]),
        .testTarget(name: "GlossaServerTests", dependencies: ["GlossaServer", "Glossa", "GlossaBuiltins"]),
        .target(name: "GlossaTestStaticPlugin", dependencies: ["Glossa", "GlossaTensor"], path: "Tests/GlossaTestStaticPlugin"),
        .target(name: "GlossaTestWrongABIPlugin", path: "Tests/GlossaTestWrongABIPlugin"),
        .testTarget(name: "GlossaAlignmentTests", dependencies: ["Glossa", "GlossaCausalLM", "GlossaTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzzing (`make fuzz`, docs/fuzzing.md): the entries every target calls are an ordinary library, so the unit tests
// replay the committed inputs through them; the libFuzzer executables exist only with GLOSSA_FUZZ set, as they
// link only with `-sanitize=fuzzer` (which supplies the driver their `main.swift` calls).
package.targets += [
    .target(
        name: "GlossaFuzzing",
        dependencies: ["Glossa", "GlossaNN", "GlossaSentencePiece", "GlossaWordPiece", "GlossaBuiltins",
                       "GlossaMarian", "GlossaBERT", "GlossaRNN", "GlossaCausalLM"],
        path: "Fuzz/Entries"),
    .testTarget(name: "GlossaFuzzingTests", dependencies: ["GlossaFuzzing"], path: "Tests/GlossaFuzzingTests"),
]
if ProcessInfo.processInfo.environment["GLOSSA_FUZZ"] != nil {
    for name in ["SafetensorsHeader", "PluginConfiguration", "Recipe", "VocabJson", "VocabTxt", "SentencepieceModel", "LineReader"] {
        package.targets.append(.executableTarget(
            name: "Fuzz\(name)", dependencies: name == "LineReader" ? ["GlossaNN"] : ["GlossaFuzzing"], path: "Fuzz/Targets/\(name)"))
        package.products.append(.executable(name: "Fuzz\(name)", targets: ["Fuzz\(name)"]))
    }
}
