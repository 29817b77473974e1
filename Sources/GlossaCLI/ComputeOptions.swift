import ArgumentParser
import Foundation
import Glossa
import GlossaNN

extension ComputeType: ExpressibleByArgument {}

/// `--compute-type`, shared by every command that runs a model.
struct ComputeOptions: ParsableArguments {
    @Option(help: "Arithmetic of the matrix products: float32, or int8 (weights per output channel, activations per row, through oneDNN). Default: int8 for a directory written by `glossa quantize`, else float32.")
    var computeType: ComputeType?

    /// Prepares `model`, loaded from `directory`, for the chosen arithmetic.
    func prepare(_ model: any SavableModel, directory: URL) throws {
        let type = computeType ?? (Int8Checkpoint.isQuantized(directory) ? .int8 : .float32)
        try model.prepareInference(type)
    }
}

/// `glossa quantize`: writes an int8 copy of a model directory.
struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize", abstract: "Write an int8 copy of a model directory (weights per output row with scales, in safetensors).",
        discussion: """
            Every weight matrix is stored as int8 codes with one scale per output row; the tokenizer and \
            configuration files are copied. Glossa loads the copy like any directory and runs it in int8 \
            (--compute-type int8 is its default); the float directory stays as it was, loadable by transformers.
            """)

    @Option(help: "The model directory to quantize.")
    var model: String

    @Option(help: "The folder for the int8 copy (created; files in it are replaced).")
    var output: String

    func validate() throws {
        if output.isEmpty { throw ValidationError("--output must name a folder") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--model '\(model)' is not a model directory")
        }
    }

    func run() throws {
        let (float, int8) = try Int8Checkpoint.write(from: URL(fileURLWithPath: model), to: URL(fileURLWithPath: output))
        print(String(format: "wrote %@: model.safetensors %.1f MB (float %.1f MB)", output, Double(int8) / 1e6, Double(float) / 1e6))
    }
}
