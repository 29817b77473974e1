import Foundation

/// The parsed, validated JSON header of a safetensors file.
struct SafetensorsHeader {
    /// Tensor entries in data order (by begin offset, then name).
    var entries: [SafetensorsTensorInfo]
    /// The free-form `__metadata__` strings, empty when absent.
    var metadata: [String: String]

    /// The reserved header key holding free-form string metadata.
    static let metadataKey = "__metadata__"

    /// Decodes the header JSON and checks each entry on its own (fields, dtype, shape, size).
    static func parse(_ json: Data) throws -> SafetensorsHeader {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json, options: [])
        } catch {
            let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw SafetensorsError.invalidHeaderJSON(reason: SafetensorsError.sentenceFragment(text ?? "the parser rejected it"))
        }
        guard let root = object as? [String: Any] else { throw SafetensorsError.headerNotObject }

        var metadata: [String: String] = [:]
        var entries: [SafetensorsTensorInfo] = []
        for (name, value) in root {
            if name == metadataKey {
                metadata = try parseMetadata(value)
            } else {
                entries.append(try parseEntry(name: name, value: value))
            }
        }
        entries.sort { ($0.byteRange.lowerBound, $0.name) < ($1.byteRange.lowerBound, $1.name) }
        return SafetensorsHeader(entries: entries, metadata: metadata)
    }

    /// Checks entries against each other and against the data buffer: no overlaps, all in range.
    /// Gaps and trailing bytes are tolerated, since they cannot make a tensor read wrong bytes.
    static func validateLayout(_ entries: [SafetensorsTensorInfo], dataLength: Int) throws {
        var previous: SafetensorsTensorInfo?
        for entry in entries where !entry.byteRange.isEmpty {
            if let previous, entry.byteRange.lowerBound < previous.byteRange.upperBound {
                throw SafetensorsError.overlappingTensors(first: previous.name, second: entry.name)
            }
            previous = entry
        }
        for entry in entries {
            let range = entry.byteRange
            if range.lowerBound > dataLength {
                throw SafetensorsError.offsetsOutOfRange(
                    tensor: entry.name, begin: range.lowerBound, end: range.upperBound, dataLength: dataLength)
            }
            if range.upperBound > dataLength {
                throw SafetensorsError.truncatedData(tensor: entry.name, end: range.upperBound, dataLength: dataLength)
            }
        }
    }

    private static func parseMetadata(_ value: Any) throws -> [String: String] {
        guard let object = value as? [String: Any] else {
            throw SafetensorsError.invalidMetadata(reason: "it is not a JSON object")
        }
        var metadata: [String: String] = [:]
        for (key, item) in object {
            guard let text = item as? String else {
                throw SafetensorsError.invalidMetadata(reason: "the value of '\(key)' is not a string")
            }
            metadata[key] = text
        }
        return metadata
    }

    private static func parseEntry(name: String, value: Any) throws -> SafetensorsTensorInfo {
        guard let entry = value as? [String: Any] else { throw SafetensorsError.entryNotObject(tensor: name) }
        guard let dtypeValue = entry["dtype"] else { throw SafetensorsError.missingField(tensor: name, field: "dtype") }
        guard let shapeValue = entry["shape"] else { throw SafetensorsError.missingField(tensor: name, field: "shape") }
        guard let offsetsValue = entry["data_offsets"] else {
            throw SafetensorsError.missingField(tensor: name, field: "data_offsets")
        }

        guard let dtypeName = dtypeValue as? String else {
            throw SafetensorsError.invalidField(tensor: name, field: "dtype", reason: "it is not a string")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw SafetensorsError.unknownDType(tensor: name, dtype: dtypeName)
        }
        guard let shape = integerArray(shapeValue) else {
            throw SafetensorsError.invalidField(tensor: name, field: "shape", reason: "it is not an array of integers")
        }
        if shape.contains(where: { $0 < 0 }) { throw SafetensorsError.negativeDimension(tensor: name, shape: shape) }
        guard let offsets = integerArray(offsetsValue), offsets.count == 2 else {
            throw SafetensorsError.invalidField(
                tensor: name, field: "data_offsets", reason: "it is not an array of two integers")
        }
        let (begin, end) = (offsets[0], offsets[1])
        guard begin >= 0, end >= begin else { throw SafetensorsError.invalidOffsets(tensor: name, begin: begin, end: end) }

        guard let expected = byteCount(shape: shape, dtype: dtype) else {
            throw SafetensorsError.invalidField(
                tensor: name, field: "shape",
                reason: "\(shape) of \(dtype.rawValue) is too large or does not fill whole bytes")
        }
        guard end - begin == expected else {
            throw SafetensorsError.sizeMismatch(
                tensor: name, dtype: dtype, shape: shape, expected: expected, actual: end - begin)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// Bytes for `shape` elements of `dtype`, or nil on overflow or a partial trailing byte.
    static func byteCount(shape: [Int], dtype: SafetensorsDType) -> Int? {
        var bits = dtype.bitWidth
        for dimension in shape {
            let (product, overflow) = bits.multipliedReportingOverflow(by: dimension)
            if overflow { return nil }
            bits = product
        }
        return bits % 8 == 0 ? bits / 8 : nil
    }

    /// The integers of a JSON array, rejecting booleans, fractions and values beyond `Int`.
    private static func integerArray(_ value: Any) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var integers: [Int] = []
        integers.reserveCapacity(array.count)
        for item in array {
            guard let integer = integer(item) else { return nil }
            integers.append(integer)
        }
        return integers
    }

    private static func integer(_ value: Any) -> Int? {
        guard let number = value as? NSNumber else { return nil }
        // Foundation hands JSON true/false back as NSNumber too; their type code is "c".
        let code = String(cString: number.objCType)
        guard ["s", "i", "l", "q", "S", "I", "L", "Q"].contains(code) else { return nil }
        return value as? Int
    }
}
