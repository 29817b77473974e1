import Foundation

/// A parsed JSON value, as the request readers see it: numbers keep whether they were written as integers, so a
/// seed of 2⁶⁴−1 or a `max_tokens` of 1.5 is told apart from a float.
enum JSONValue: Decodable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let flag = try? value.decode(Bool.self) {
            self = .bool(flag)
        } else if let integer = try? value.decode(Int64.self) {
            self = .integer(integer)
        } else if let unsigned = try? value.decode(UInt64.self) {
            self = .unsigned(unsigned)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else if let text = try? value.decode(String.self) {
            self = .string(text)
        } else if let array = try? value.decode([JSONValue].self) {
            self = .array(array)
        } else {
            self = .object(try value.decode([String: JSONValue].self))
        }
    }

    /// The JSON type's name, for error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .unsigned, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// A request body: a JSON object whose fields are read with their types and ranges checked, every failure a
/// `ServerError.badRequest` naming the field. Also reads HTML-form bodies, which LibreTranslate accepts too.
struct RequestFields {
    private let fields: [String: JSONValue]

    /// Parses `bytes`: invalid UTF-8, invalid JSON or a non-object is a 400 naming `body`.
    init(bytes: [UInt8], contentType: String?) throws {
        guard String(validating: bytes, as: UTF8.self) != nil else {
            let offset = Self.firstInvalidUTF8(bytes)
            throw ServerError.badRequest(field: "body", message: "the body is not valid UTF-8 (first bad byte at offset \(offset))")
        }
        // curl -d labels JSON as a form, so a body that opens with `{` is JSON whatever its label.
        let opensObject = bytes.first { ![0x20, 0x09, 0x0A, 0x0D].contains($0) } == UInt8(ascii: "{")
        if let contentType, contentType.lowercased().hasPrefix("application/x-www-form-urlencoded"), !opensObject {
            fields = try Self.form(bytes)
            return
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            throw ServerError.badRequest(field: "body", message: "the body is not valid JSON")
        }
        guard case .object(let object) = value else {
            throw ServerError.badRequest(field: "body", message: "the body must be a JSON object, not \(value.typeName)")
        }
        fields = object
    }

    private static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return offset
    }

    private static func form(_ bytes: [UInt8]) throws -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            guard let key = parts.first?.removingPercentEncoding else { continue }
            guard let value = (parts.count > 1 ? parts[1] : "").removingPercentEncoding else {
                throw ServerError.badRequest(field: key, message: "\(key) is not valid percent-encoded UTF-8")
            }
            result[key] = .string(value)
        }
        return result
    }

    /// Whether the field is present and not null.
    func has(_ name: String) -> Bool {
        if case .some(let value) = fields[name], case .null = value { return false }
        return fields[name] != nil
    }

    /// A string field; `nil` when absent and `required` is false.
    func string(_ name: String, required: Bool = false) throws -> String? {
        switch fields[name] {
        case nil, .null?:
            if required { throw ServerError.badRequest(field: name, message: "\(name) is required") }
            return nil
        case .string(let text)?: return text
        case let other?: throw ServerError.badRequest(field: name, message: "\(name) must be a string, not \(other.typeName)")
        }
    }

    /// A string or an array of strings (LibreTranslate's `q`, OpenAI's `input` and `prompt`), with whether it was an
    /// array (the answer keeps the shape), at most `maxItems` of them.
    func texts(_ name: String, maxItems: Int) throws -> (texts: [String], isArray: Bool) {
        switch fields[name] {
        case nil, .null?: throw ServerError.badRequest(field: name, message: "\(name) is required")
        case .string(let text)?: return ([text], false)
        case .array(let values)?:
            if values.count > maxItems { throw ServerError.tooManyItems(field: name, count: values.count, limit: maxItems) }
            let texts = try values.enumerated().map { index, value -> String in
                guard case .string(let text) = value else {
                    throw ServerError.badRequest(field: "\(name)[\(index)]", message: "\(name)[\(index)] must be a string, not \(value.typeName)")
                }
                return text
            }
            return (texts, true)
        case let other?:
            throw ServerError.badRequest(field: name, message: "\(name) must be a string or an array of strings, not \(other.typeName)")
        }
    }

    /// An integer field within `range`; `nil` when absent.
    func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        let value: Int?
        switch fields[name] {
        case nil, .null?: return nil
        case .integer(let number)?: value = Int(exactly: number)
        case .unsigned(let number)?: value = Int(exactly: number)
        case .number(let number)?: value = number.rounded() == number ? Int(exactly: number) : nil
        case let other?: throw ServerError.badRequest(field: name, message: "\(name) must be an integer, not \(other.typeName)")
        }
        guard let value, range.contains(value) else {
            throw ServerError.badRequest(field: name, message: "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// An unsigned 64-bit integer field (a seed); `nil` when absent.
    func unsigned(_ name: String) throws -> UInt64? {
        switch fields[name] {
        case nil, .null?: return nil
        case .integer(let number)? where number >= 0: return UInt64(number)
        case .unsigned(let number)?: return number
        default: throw ServerError.badRequest(field: name, message: "\(name) must be an integer in 0...\(UInt64.max)")
        }
    }

    /// A finite number within `range`; `nil` when absent.
    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        let value: Double
        switch fields[name] {
        case nil, .null?: return nil
        case .integer(let number)?: value = Double(number)
        case .unsigned(let number)?: value = Double(number)
        case .number(let number)?: value = number
        case let other?: throw ServerError.badRequest(field: name, message: "\(name) must be a number, not \(other.typeName)")
        }
        guard value.isFinite, range.contains(value) else {
            throw ServerError.badRequest(field: name, message: "\(name) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A boolean field; `nil` when absent.
    func bool(_ name: String) throws -> Bool? {
        switch fields[name] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        case let other?: throw ServerError.badRequest(field: name, message: "\(name) must be true or false, not \(other.typeName)")
        }
    }
}
