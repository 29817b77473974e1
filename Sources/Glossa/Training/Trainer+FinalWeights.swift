import Foundation
import GlossaNN
import GlossaTensor

extension Trainer {
    /// Leaves the model holding its final weights — the average of the last `average_last` checkpoints, or the
    /// best checkpoint when its primary dev metric is better (with `keep_best`) — and says which.
    public func chooseFinalWeights() throws -> String {
        var note = "last checkpoint"
        if settings.averageLast > 1 {
            let folders = Array(try checkpoints.completed().suffix(settings.averageLast))
            if folders.count > 1 {
                try network.load(try checkpoints.average(folders))
                network.didUpdateParameters()
                note = "average of the last \(folders.count) checkpoints"
            }
        }
        let bestFile = checkpoints.directory.appendingPathComponent("best/model.safetensors")
        guard settings.keepBest, let primary = objective.primaryMetric, FileManager.default.fileExists(atPath: bestFile.path) else {
            return note
        }
        guard let final = try withoutGrad({ try objective.validate(model: model) })[primary.name] else { return note }
        let finalWeights = network.stateDictionary().mapValues { Tensor(shape: $0.shape, scalars: $0.scalars) }
        try network.load(try Safetensors.read(contentsOf: bestFile).tensors())
        let best = try withoutGrad { try objective.validate(model: model) }[primary.name] ?? final
        if primary.improves(best, over: final) {
            return String(format: "best checkpoint (dev %@ %.4g over %.4g for the %@)", primary.name, best, final, note)
        }
        try network.load(finalWeights)
        return note + String(format: " (dev %@ %.4g; best checkpoint %.4g)", primary.name, final, best)
    }
}
