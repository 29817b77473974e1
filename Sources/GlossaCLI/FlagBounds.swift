import Foundation
import ArgumentParser

/// The documented range of every numeric flag, checked in `validate()` so a bad value is a usage error before
/// any work starts (README, "Flag ranges"). Ranges are wide enough for real use and small enough that the sizes
/// derived from them (batch rows, thread pools, buffers) can neither overflow nor exhaust memory.
enum FlagBounds {
    /// Threads of the BLAS and kernel pools.
    static let threads = 1...1024
    /// Sentences or texts per batch.
    static let batchSize = 1...100_000
    /// Tokens generated per output.
    static let newTokens = 1...100_000
    /// Outputs sampled per prompt.
    static let samples = 1...1024
    /// "Only the first N" limits.
    static let limit = 0...1_000_000_000
    /// Generated records (problems).
    static let count = 1...10_000_000
    /// Candidates kept per query or step.
    static let topK = 0...1_000_000
    /// Labels printed per classified text.
    static let labels = 1...1_000_000
    /// Seconds a measurement may take.
    static let seconds = 0.001...3600.0

    /// Throws a `ValidationError` naming the flag when `value` is outside `range`.
    static func check<T: Comparable & CustomStringConvertible>(_ value: T?, _ range: ClosedRange<T>, _ flag: String) throws {
        if let value, !range.contains(value) {
            throw ValidationError("\(flag) must be in \(range.lowerBound)...\(range.upperBound), not \(value)")
        }
    }

    /// The same for floating-point flags; NaN and infinities are refused.
    static func check<T: BinaryFloatingPoint & CustomStringConvertible>(finite value: T?, _ range: ClosedRange<T>, _ flag: String) throws {
        if let value, !(value.isFinite && range.contains(value)) {
            throw ValidationError("\(flag) must be a finite number in \(range.lowerBound)...\(range.upperBound), not \(value)")
        }
    }

    /// A floating-point flag that only has to be finite.
    static func check<T: BinaryFloatingPoint & CustomStringConvertible>(finite value: T?, _ flag: String) throws {
        if let value, !value.isFinite { throw ValidationError("\(flag) must be a finite number, not \(value)") }
    }

    /// Throws the usage error of a flag that must name an existing directory.
    static func requireDirectory(_ path: String, _ flag: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("\(flag) '\(path)' is not a directory.")
        }
    }
}
