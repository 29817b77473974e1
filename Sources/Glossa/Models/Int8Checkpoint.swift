import Foundation
import GlossaNN
import GlossaTensor

/// An int8 copy of a model directory, as `glossa quantize` writes it: every weight matrix stored as
/// I8 codes, one symmetric scale per output row in `<name>_scale` (F32), everything else as it was.
/// Glossa reads it back as the dequantized floats and runs it in int8 (the same codes, exactly).
public enum Int8Checkpoint {
    /// The metadata key and value that mark such a file.
    public static let metadataKey = "glossa_quantization", scheme = "int8 per output row, symmetric"
    /// The suffix of a matrix's scales.
    public static let scaleSuffix = "_scale"

    /// Codes and scales of one matrix `[N, K]`: scale = max |row| / 127, code = round(w / scale) in −127…127,
    /// the scheme of `QuantizedMatrix`.
    public static func quantize(_ matrix: Tensor) -> (codes: Tensor, scales: Tensor) {
        let n = matrix.shape[0], k = matrix.count / Swift.max(n, 1)
        var codes = [Float](repeating: 0, count: matrix.count), scales = [Float](repeating: 1, count: n)
        matrix.scalars.withUnsafeBufferPointer { w in
            for row in 0..<n {
                var top: Float = 0
                for i in 0..<k { top = Swift.max(top, abs(w[row * k + i])) }
                let scale = top > 0 ? top / 127 : 1
                scales[row] = scale
                for i in 0..<k { codes[row * k + i] = Swift.min(127, Swift.max(-127, (w[row * k + i] / scale).rounded(.toNearestOrEven))) }
            }
        }
        return (Tensor(shape: matrix.shape, scalars: codes), Tensor(shape: [n], scalars: scales))
    }

    /// Writes `source`'s int8 copy to `output`: its files and the folders its `modules.json` names (a sentence-transformers
    /// embedder's `1_Pooling`, `2_Normalize`) copied, `model.safetensors` with every 2-D float tensor as codes and scales.
    /// Returns the sizes of the two weight files in bytes.
    @discardableResult
    public static func write(from source: URL, to output: URL) throws -> (float: Int, int8: Int) {
        let files = FileManager.default
        let weightsURL = source.appendingPathComponent("model.safetensors")
        let file = try Safetensors.read(contentsOf: weightsURL)
        if file.metadata[metadataKey] != nil {
            throw GlossaError.invalidInput("\(source.path) is already an int8 copy")
        }
        guard source.standardizedFileURL.path != output.standardizedFileURL.path else {
            throw GlossaError.invalidInput("--output must be another folder than --model")
        }
        try files.createDirectory(at: output, withIntermediateDirectories: true)
        let modules = try moduleFolders(source)
        for name in try files.contentsOfDirectory(atPath: source.path) where name != "model.safetensors" {
            let from = source.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            // Other folders are not part of the model (a run's checkpoints/), but the modules' settings are.
            guard files.fileExists(atPath: from.path, isDirectory: &isDirectory), !isDirectory.boolValue || modules.contains(name) else { continue }
            let to = output.appendingPathComponent(name)
            if files.fileExists(atPath: to.path) { try files.removeItem(at: to) }
            try files.copyItem(at: from, to: to)
        }
        var tensors: [String: Tensor] = [:], dtypes: [String: SafetensorsDType] = [:]
        for info in file.entries {
            let tensor = try file.tensor(named: info.name)
            if info.shape.count == 2 && [.f32, .f16, .bf16].contains(info.dtype) {
                let (codes, scales) = quantize(tensor)
                tensors[info.name] = codes
                dtypes[info.name] = .i8
                tensors[info.name + scaleSuffix] = scales
            } else {
                tensors[info.name] = tensor
            }
        }
        let target = output.appendingPathComponent("model.safetensors")
        try Safetensors.write(tensors, metadata: file.metadata.merging([metadataKey: scheme]) { $1 }, to: target, dtypes: dtypes)
        let size = { (url: URL) in (try? files.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0 }
        return (size(weightsURL), size(target))
    }

    /// The top-level folders `modules.json` names in `directory` (none without one).
    static func moduleFolders(_ directory: URL) throws -> Set<String> {
        guard FileManager.default.fileExists(atPath: directory.appendingPathComponent("modules.json").path) else { return [] }
        struct Entry: Decodable { var path: String? }
        let entries = try decodeJSON([Entry].self, from: directory.appendingPathComponent("modules.json"))
        return Set(entries.compactMap { $0.path?.split(separator: "/").first.map(String.init) }.filter { $0 != "." && $0 != ".." })
    }

    /// The float tensors of an int8 file (codes × scales), or the tensors as they are for any other file.
    public static func dequantized(_ file: SafetensorsFile) throws -> [String: Tensor] {
        var tensors = try file.tensors()
        guard file.metadata[metadataKey] != nil else { return tensors }
        for info in file.entries where info.dtype == .i8 && info.shape.count == 2 {
            guard let codes = tensors[info.name], let scales = tensors.removeValue(forKey: info.name + scaleSuffix),
                  scales.shape == [info.shape[0]] else {
                throw GlossaError.invalidConfiguration("\(info.name) is stored as int8 codes without its \(info.name + scaleSuffix) [\(info.shape[0])]")
            }
            let k = info.shape[1]
            let s = scales.scalars
            tensors[info.name] = Tensor(shape: info.shape, scalars: codes.scalars.enumerated().map { $0.element * s[$0.offset / k] })
        }
        return tensors
    }

    /// Whether the model directory holds an int8 copy.
    public static func isQuantized(_ directory: URL) -> Bool {
        (try? Safetensors.read(contentsOf: directory.appendingPathComponent("model.safetensors")))?.metadata[metadataKey] != nil
    }
}
