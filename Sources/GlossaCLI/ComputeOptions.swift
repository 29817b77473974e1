import ArgumentParser
import Glossa
import GlossaNN

extension ComputeType: ExpressibleByArgument {}

/// `--compute-type`, shared by every command that runs a model.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Arithmetic of the matrix products: float32, or int8 (weights per output channel, activations per row, through oneDNN).")
    var computeType: ComputeType = .float32

    /// Prepares `model`'s products for the chosen arithmetic (nothing to do for float32).
    func prepare(_ model: any SavableModel) throws {
        if computeType != .float32 { try model.prepareInference(computeType) }
    }
}
