import Foundation
import GlossaNN

/// A plugin configuration that can say how many parameters its model will have before the model is built, so
/// that absurd sizes (`d_model` 1e9, `decoder_layers` 100000) are refused before anything is allocated.
public protocol ParameterCountEstimating {
    /// About how many Float32 parameters the model of this configuration holds (shared tables counted once).
    /// Computed in `Double` so that sizes a user wrote cannot overflow.
    var estimatedParameterCount: Double { get }
}

/// The size checks `PluginConfiguration.decode` runs on every `ParameterCountEstimating` configuration.
public enum ModelSize {
    /// Bytes per parameter while training: the weights, their gradients and Adam's two moments, all Float32.
    public static let trainingBytesPerParameter = 16.0
    /// Bytes per parameter of a loaded model (Float32 weights).
    public static let inferenceBytesPerParameter = 4.0

    /// Refuses a model that does not fit: a fresh model (no directory) whose training state exceeds the machine's
    /// memory, a loaded one whose weights exceed it, and a loaded one whose configuration describes far more
    /// parameters than its `model.safetensors` holds (the configuration's sizes are wrong).
    public static func check(parameters: Double, directory: URL?, memory: Double = Double(ProcessInfo.processInfo.physicalMemory)) throws {
        guard parameters.isFinite, parameters >= 0 else {
            throw GlossaError.invalidConfiguration("the configuration's sizes give no finite parameter count")
        }
        let fresh = directory == nil
        let bytes = parameters * (fresh ? trainingBytesPerParameter : inferenceBytesPerParameter)
        if bytes > memory {
            let purpose = fresh ? "to train (weights, gradients and Adam moments in float32)" : "for its float32 weights"
            throw GlossaError.invalidConfiguration(
                "the configuration describes a model of about \(count(parameters)) parameters, which needs about \(gigabytes(bytes)) "
                    + "\(purpose), more than this machine's \(gigabytes(memory)) of memory; make it smaller")
        }
        guard let directory else { return }
        let file = directory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        let stored = try Safetensors.read(contentsOf: file).entries.reduce(0.0) { sum, entry in
            sum + entry.shape.reduce(1.0) { $0 * Double($1) }
        }
        // Shared tables, buffers and a few untracked vectors make the counts differ a little; a factor of 1.5 plus
        // a million is far beyond that and far below what a wrong size (10× a dimension) gives.
        if parameters > 1.5 * stored + 1_000_000 {
            throw GlossaError.invalidConfiguration(
                "config.json describes a model of about \(count(parameters)) parameters but \(file.path) holds only "
                    + "\(count(stored)) values; the configuration's sizes do not match the checkpoint")
        }
    }

    /// `1.2 million`, `7.0 billion`.
    static func count(_ n: Double) -> String {
        if n >= 1e12 { return String(format: "%.1e", n) }
        if n >= 1e9 { return String(format: "%.1f billion", n / 1e9) }
        if n >= 1e6 { return String(format: "%.1f million", n / 1e6) }
        return String(format: "%.0f", n)
    }

    /// `23.4 GB`.
    static func gigabytes(_ bytes: Double) -> String {
        if bytes >= 1e13 { return String(format: "%.1e bytes", bytes) }
        return bytes >= 1e8 ? String(format: "%.1f GB", bytes / 1e9) : String(format: "%.1f MB", bytes / 1e6)
    }
}
