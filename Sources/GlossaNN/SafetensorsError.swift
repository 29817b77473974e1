import Foundation

/// Why a safetensors file could not be read or written; each case prints one sentence a user can act on.
public enum SafetensorsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case cannotOpen(path: String, reason: String)
    /// The file is too short to hold the 8-byte header length.
    case fileTooShort(byteCount: Int)
    /// The declared header length is over the limit Glossa accepts.
    case headerTooLarge(length: UInt64, limit: Int)
    /// The declared header length runs past the end of the file.
    case headerExceedsFile(length: UInt64, fileSize: Int)
    /// The header bytes are not a JSON document.
    case invalidHeaderJSON(reason: String)
    /// The header is JSON but not a JSON object.
    case headerNotObject
    /// `__metadata__` is not an object of string values.
    case invalidMetadata(reason: String)
    /// A tensor's entry is not a JSON object.
    case entryNotObject(tensor: String)
    /// A tensor's entry lacks a required field.
    case missingField(tensor: String, field: String)
    /// A tensor's field has the wrong JSON type or an unusable value.
    case invalidField(tensor: String, field: String, reason: String)
    /// A tensor's dtype is not one the safetensors format defines.
    case unknownDType(tensor: String, dtype: String)
    /// A tensor's shape has a negative dimension.
    case negativeDimension(tensor: String, shape: [Int])
    /// A tensor's data offsets are negative or reversed.
    case invalidOffsets(tensor: String, begin: Int, end: Int)
    /// A tensor's byte length does not match its shape and dtype.
    case sizeMismatch(tensor: String, dtype: SafetensorsDType, shape: [Int], expected: Int, actual: Int)
    /// Two tensors claim the same bytes.
    case overlappingTensors(first: String, second: String)
    /// A tensor begins past the end of the data buffer.
    case offsetsOutOfRange(tensor: String, begin: Int, end: Int, dataLength: Int)
    /// A tensor begins inside the data buffer but the file ends before the tensor does.
    case truncatedData(tensor: String, end: Int, dataLength: Int)
    /// No tensor of that name is in the file.
    case tensorNotFound(name: String, available: [String])
    /// The dtype is valid safetensors but Glossa cannot turn it into Float32.
    case unsupportedDType(tensor: String, dtype: SafetensorsDType)
    /// An integer element is too large to be held exactly by a Float32.
    case integerNotExactInFloat32(tensor: String, value: String)
    /// Writing was asked for in a dtype Glossa does not write.
    case unsupportedWriteDType(SafetensorsDType)
    /// Two tensors to be written share a name.
    case duplicateName(String)
    /// A tensor to be written uses the name reserved for metadata.
    case reservedName(String)

    /// A sentence describing the problem.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "Cannot open safetensors file \(path): \(reason)."
        case let .fileTooShort(byteCount):
            return "The file has \(byteCount) bytes; a safetensors file starts with an 8-byte header length, so it is not a safetensors file."
        case let .headerTooLarge(length, limit):
            return "The header claims to be \(length) bytes long, over Glossa's limit of \(limit) bytes; the file is corrupt or not a safetensors file."
        case let .headerExceedsFile(length, fileSize):
            return "The header claims to be \(length) bytes long, but the file has only \(fileSize) bytes; the file is truncated or not a safetensors file."
        case let .invalidHeaderJSON(reason):
            return "The safetensors header is not valid JSON: \(reason)."
        case .headerNotObject:
            return "The safetensors header is valid JSON but not an object of tensor entries."
        case let .invalidMetadata(reason):
            return "The __metadata__ entry must be an object of string values: \(reason)."
        case let .entryNotObject(tensor):
            return "The header entry for tensor '\(tensor)' is not a JSON object."
        case let .missingField(tensor, field):
            return "The header entry for tensor '\(tensor)' has no '\(field)' field."
        case let .invalidField(tensor, field, reason):
            return "The '\(field)' field of tensor '\(tensor)' is invalid: \(reason)."
        case let .unknownDType(tensor, dtype):
            return "Tensor '\(tensor)' has dtype '\(dtype)', which is not a safetensors dtype."
        case let .negativeDimension(tensor, shape):
            return "Tensor '\(tensor)' has shape \(shape), which has a negative dimension."
        case let .invalidOffsets(tensor, begin, end):
            return "Tensor '\(tensor)' has data_offsets [\(begin), \(end)], which are negative or reversed."
        case let .sizeMismatch(tensor, dtype, shape, expected, actual):
            return "Tensor '\(tensor)' of dtype \(dtype.rawValue) and shape \(shape) needs \(expected) bytes, but its data_offsets span \(actual) bytes."
        case let .overlappingTensors(first, second):
            return "Tensors '\(first)' and '\(second)' have overlapping data_offsets."
        case let .offsetsOutOfRange(tensor, begin, end, dataLength):
            return "Tensor '\(tensor)' has data_offsets [\(begin), \(end)], past the end of the \(dataLength)-byte data buffer."
        case let .truncatedData(tensor, end, dataLength):
            return "Tensor '\(tensor)' ends at byte \(end) of the data buffer, but the file holds only \(dataLength) bytes of data; the file is truncated."
        case let .tensorNotFound(name, available):
            let shown = available.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
            let more = available.count > 8 ? ", …" : ""
            return "No tensor named '\(name)' in the file; it has \(available.count) tensors: \(shown)\(more)."
        case let .unsupportedDType(tensor, dtype):
            return "Tensor '\(tensor)' has dtype \(dtype.rawValue), which Glossa cannot load as Float32."
        case let .integerNotExactInFloat32(tensor, value):
            return "Tensor '\(tensor)' holds the integer \(value), which Float32 cannot represent exactly."
        case let .unsupportedWriteDType(dtype):
            return "Glossa writes safetensors only as F32 or F16, not \(dtype.rawValue)."
        case let .duplicateName(name):
            return "Two tensors to be saved are both named '\(name)'."
        case let .reservedName(name):
            return "A tensor cannot be named '\(name)': that key holds the file's metadata."
        }
    }

    /// `text` without trailing periods or spaces, so it can sit inside a sentence.
    static func sentenceFragment(_ text: String) -> String {
        var fragment = Substring(text)
        while let last = fragment.last, last == "." || last == " " { fragment = fragment.dropLast() }
        return String(fragment)
    }
}
