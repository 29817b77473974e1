import Foundation
import GlossaTensor
import GlossaNN

/// Tokenised sentence pairs, aligned by index.
public struct ParallelData: Sendable {
    /// Source ids (no EOS).
    public var source: [[Int]]
    /// Target ids (no EOS).
    public var target: [[Int]]
    /// The raw target lines (references for chrF).
    public var targetText: [String]
    /// The raw source lines.
    public var sourceText: [String]
    /// Each line's origin, when known.
    public var origins: [String]?

    /// The number of pairs.
    public var count: Int { source.count }

    /// Reads and tokenises a pair of aligned files. Lines must correspond one to one.
    public static func load(_ files: ParallelFiles, source: any Tokenizer, target: any Tokenizer) throws -> ParallelData {
        let sourceLines = try InputFile.lines(files.source), targetLines = try InputFile.lines(files.target)
        guard sourceLines.count == targetLines.count else {
            throw GlossaError.invalidInput("\(files.source) has \(sourceLines.count) lines but \(files.target) has \(targetLines.count)")
        }
        let origins = try files.origin.map { try InputFile.lines($0) }
        if let origins, origins.count != sourceLines.count {
            throw GlossaError.invalidInput("\(files.origin ?? "") has \(origins.count) lines, not \(sourceLines.count)")
        }
        return ParallelData(source: try source.encodeBatch(sourceLines), target: try target.encodeBatch(targetLines),
                            targetText: targetLines, sourceText: sourceLines, origins: origins)
    }

    /// The first `n` pairs.
    public func prefix(_ n: Int) -> ParallelData {
        ParallelData(source: Array(source.prefix(n)), target: Array(target.prefix(n)), targetText: Array(targetText.prefix(n)),
                     sourceText: Array(sourceText.prefix(n)), origins: origins.map { Array($0.prefix(n)) })
    }
}

/// Batches of pair indices with at most `maxTokens` padded target tokens each, cut from
/// length-sorted data and shuffled; the plan of epoch e depends only on (seed, e).
public enum BatchPlan {
    /// The batches of one epoch.
    public static func epoch(_ data: ParallelData, maxTokens: Int, maxLength: Int, seed: UInt64, epoch: Int) -> [[Int]] {
        var rng = SeededGenerator(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        var indices = data.source.indices.filter {
            !data.source[$0].isEmpty && !data.target[$0].isEmpty && data.source[$0].count < maxLength && data.target[$0].count < maxLength
        }
        indices.shuffle(using: &rng)
        // Stable sort after a shuffle: equal lengths come in a fresh random order each epoch.
        let key = { (i: Int) in (data.target[i].count, data.source[i].count) }
        indices = indices.enumerated().sorted { a, b in
            let ka = key(a.element), kb = key(b.element)
            return ka != kb ? ka < kb : a.offset < b.offset
        }.map(\.element)
        var batches: [[Int]] = []
        var current: [Int] = []
        var longest = 0
        for i in indices {
            let length = Swift.max(data.target[i].count, data.source[i].count) + 1
            if !current.isEmpty && (current.count + 1) * Swift.max(longest, length) > maxTokens {
                batches.append(current)
                current = []
                longest = 0
            }
            current.append(i)
            longest = Swift.max(longest, length)
        }
        if !current.isEmpty { batches.append(current) }
        batches.shuffle(using: &rng)
        return batches
    }
}
