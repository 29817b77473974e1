import Foundation
import GlossaTensor

extension Safetensors {
    /// Saves tensors atomically: the file at `url` is either the old one or the complete new one.
    public static func write(
        _ tensors: [String: Tensor], metadata: [String: String]? = nil, to url: URL, dtype: SafetensorsDType = .f32,
        dtypes: [String: SafetensorsDType] = [:]
    ) throws {
        try AtomicFile.write(encode(tensors.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, dtype: dtype, dtypes: dtypes), to: url)
    }

    /// Saves named tensors atomically; names must be unique, and are stored sorted.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]? = nil, to url: URL,
        dtype: SafetensorsDType = .f32
    ) throws {
        try AtomicFile.write(encode(tensors, metadata: metadata, dtype: dtype), to: url)
    }

    /// The safetensors bytes for `tensors`, in F32 or F16.
    public static func encode(
        _ tensors: [String: Tensor], metadata: [String: String]? = nil, dtype: SafetensorsDType = .f32
    ) throws -> Data {
        try encode(tensors.map { (name: $0.key, tensor: $0.value) }, metadata: metadata, dtype: dtype)
    }

    /// The safetensors bytes for named tensors, in F32 or F16; names must be unique.
    /// Tensors are laid out sorted by name so the same tensors always give the same bytes;
    /// F16 rounds to nearest even, and magnitudes past 65504 become infinity. `dtypes` stores
    /// some tensors in another type: I8 for integer codes in −128…127 (int8 checkpoints).
    public static func encode(
        _ tensors: [(name: String, tensor: Tensor)], metadata: [String: String]? = nil,
        dtype: SafetensorsDType = .f32, dtypes: [String: SafetensorsDType] = [:]
    ) throws -> Data {
        guard dtype == .f32 || dtype == .f16 else { throw SafetensorsError.unsupportedWriteDType(dtype) }
        if let other = dtypes.values.first(where: { ![.f32, .f16, .i8].contains($0) }) { throw SafetensorsError.unsupportedWriteDType(other) }
        let sorted = tensors.sorted { $0.name.unicodeScalars.lexicographicallyPrecedes($1.name.unicodeScalars) }
        for (position, item) in sorted.enumerated() {
            if item.name == SafetensorsHeader.metadataKey { throw SafetensorsError.reservedName(item.name) }
            if position > 0, sorted[position - 1].name == item.name { throw SafetensorsError.duplicateName(item.name) }
        }

        func type(of name: String) -> SafetensorsDType { dtypes[name] ?? dtype }
        for item in sorted where type(of: item.name) == .i8 {
            if let bad = item.tensor.scalars.first(where: { !($0 >= -128 && $0 <= 127 && $0 == $0.rounded()) }) {
                throw SafetensorsError.invalidField(tensor: item.name, field: "dtype", reason: "I8 needs whole numbers in -128...127, got \(bad)")
            }
        }
        var fields: [String] = []
        if let metadata, !metadata.isEmpty {
            let pairs = metadata.keys
                .sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
                .map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }
            fields.append("\(jsonString(SafetensorsHeader.metadataKey)):{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for item in sorted {
            let end = offset + item.tensor.scalars.count * type(of: item.name).bitWidth / 8
            let shape = item.tensor.shape.map(String.init).joined(separator: ",")
            fields.append(
                "\(jsonString(item.name)):{\"dtype\":\"\(type(of: item.name).rawValue)\",\"shape\":[\(shape)],"
                    + "\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        var header = Array("{\(fields.joined(separator: ","))}".utf8)
        // Pad with spaces so the data buffer starts 8-byte aligned (the 8-byte prefix keeps it so).
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }

        var data = Data(capacity: 8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
        data.append(contentsOf: header)
        for item in sorted {
            switch type(of: item.name) {
            case .i8:
                let codes = item.tensor.scalars.map { Int8($0) }
                codes.withUnsafeBytes { data.append(contentsOf: $0) }
            case .f16:
                let bits = item.tensor.scalars.map { HalfFloat.halfBits(from: $0).littleEndian }
                bits.withUnsafeBytes { data.append(contentsOf: $0) }
            default:
                let bits = item.tensor.scalars.map { $0.bitPattern.littleEndian }
                bits.withUnsafeBytes { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    /// A JSON string literal (`jsonStringLiteral`).
    static func jsonString(_ text: String) -> String { jsonStringLiteral(text) }
}

/// `text` as a JSON string literal, escaping quotes, backslashes and control characters: for JSON written by hand
/// (safetensors headers, the server's responses).
public func jsonStringLiteral(_ text: String) -> String {
    var out = "\""
    out.reserveCapacity(text.utf8.count + 2)
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where scalar.value < 0x20:
            let hex = String(scalar.value, radix: 16)
            out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
