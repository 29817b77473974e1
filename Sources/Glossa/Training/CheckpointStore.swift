import Foundation
import GlossaNN
import GlossaTensor

/// The part of a trainer's resumable state every checkpoint needs: its update count.
protocol CheckpointState: Codable {
    /// Updates taken; names the checkpoint folder.
    var step: Int { get }
}

/// Checkpoints of a training run: `step-NNNNNNN/` folders holding `model.safetensors`, `optimizer.safetensors` and
/// `trainer.json` (written last, so a folder without it is incomplete), plus `latest.json` naming the newest complete
/// one and `best/` for keep-best.
struct CheckpointStore {
    let directory: URL

    /// Writes a checkpoint of `state` and removes all but the newest `keep`; returns its folder.
    @discardableResult
    func save<State: CheckpointState>(_ state: State, model: any Module, optimizer: Adam, keep: Int) throws -> URL {
        let folder = directory.appendingPathComponent(String(format: "step-%07d", state.step))
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Safetensors.write(model.stateDictionary(), to: folder.appendingPathComponent("model.safetensors"))
        try Safetensors.write(optimizer.state(), to: folder.appendingPathComponent("optimizer.safetensors"))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(state), to: folder.appendingPathComponent("trainer.json"))
        try AtomicFile.write(Data("{\"latest\": \"\(folder.lastPathComponent)\"}\n".utf8), to: directory.appendingPathComponent("latest.json"))
        for old in try completed().dropLast(keep) { try? FileManager.default.removeItem(at: old) }
        return folder
    }

    /// Complete checkpoint folders, oldest first.
    func completed() throws -> [URL] {
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.lastPathComponent.hasPrefix("step-") && FileManager.default.fileExists(atPath: $0.appendingPathComponent("trainer.json").path) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    /// The newest complete checkpoint folder.
    func latest() throws -> URL? { try completed().last }

    /// Restores the newest checkpoint that reads back whole; a truncated or corrupt newer one is skipped and named.
    func restoreLatest<State: CheckpointState>(model: any Module, optimizer: inout Adam, as: State.Type) throws
        -> (state: State, folder: URL, skipped: [String], freshMoments: Bool)? {
        var skipped: [String] = []
        for folder in try completed().reversed() {
            let saved = model.stateDictionary().mapValues { Tensor(shape: $0.shape, scalars: $0.scalars) }
            var candidate = optimizer
            do {
                let (state, freshMoments): (State, Bool) = try restore(folder, model: model, optimizer: &candidate)
                optimizer = candidate
                return (state, folder, skipped, freshMoments)
            } catch {
                // A half-loaded model must not leak into the next attempt.
                try model.load(saved)
                skipped.append("\(folder.lastPathComponent) (\(error))")
            }
        }
        if !skipped.isEmpty {
            throw GlossaError.training("no checkpoint under \(directory.path) reads back whole: " + skipped.joined(separator: "; "))
        }
        return nil
    }

    /// The state of `folder`, its weights loaded into `model` and its moments into `optimizer`; a folder without
    /// `optimizer.safetensors` (a weights-only milestone) leaves the optimizer fresh and says so.
    func restore<State: CheckpointState>(_ folder: URL, model: any Module, optimizer: inout Adam) throws -> (State, freshMoments: Bool) {
        let state: State
        do {
            state = try JSONDecoder().decode(State.self, from: Data(contentsOf: folder.appendingPathComponent("trainer.json")))
        } catch {
            throw GlossaError.invalidConfiguration("\(folder.lastPathComponent)/trainer.json cannot be read: \(error)")
        }
        try model.load(try Safetensors.read(contentsOf: folder.appendingPathComponent("model.safetensors")).tensors())
        let moments = folder.appendingPathComponent("optimizer.safetensors")
        guard FileManager.default.fileExists(atPath: moments.path) else { return (state, true) }
        try optimizer.restore(try Safetensors.read(contentsOf: moments).tensors())
        return (state, false)
    }

    func saveBest(_ model: any Module) throws {
        let folder = directory.appendingPathComponent("best")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Safetensors.write(model.stateDictionary(), to: folder.appendingPathComponent("model.safetensors"))
    }

    /// The element-wise mean of the models in `folders`.
    func average(_ folders: [URL]) throws -> [String: Tensor] {
        var sums: [String: [Float]] = [:]
        var shapes: [String: [Int]] = [:]
        for folder in folders {
            for (name, t) in try Safetensors.read(contentsOf: folder.appendingPathComponent("model.safetensors")).tensors() {
                shapes[name] = t.shape
                if var s = sums[name] {
                    for i in s.indices { s[i] += t.scalars[i] }
                    sums[name] = s
                } else {
                    sums[name] = t.scalars
                }
            }
        }
        let n = Float(folders.count)
        return sums.reduce(into: [:]) { result, entry in
            result[entry.key] = Tensor(shape: shapes[entry.key] ?? [entry.value.count], scalars: entry.value.map { $0 / n })
        }
    }
}
