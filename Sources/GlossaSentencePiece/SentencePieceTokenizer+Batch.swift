import Dispatch
import Foundation
import Glossa

extension SentencePieceTokenizer {
    /// Encodes many lines on all cores, keeping their order; the first failing line's error is thrown.
    public func encodeBatch(_ texts: [String]) throws -> [[Int]] {
        try Self.parallelMap(count: texts.count) { range in
            let buffer = try IDBuffer()
            return try range.map { index in
                try texts[index].withUTF8Bytes { try encode(utf8: $0, into: buffer) }
                return buffer.ids
            }
        }
    }

    /// Runs `chunk` over contiguous index ranges on all cores and concatenates the results in order.
    ///
    /// Chunks rather than single items so each worker makes its result buffer once; several chunks per
    /// core so a core that finishes early (short lines) picks up more work.
    static func parallelMap<T: Sendable>(count: Int, chunk: @Sendable (Range<Int>) throws -> [T]) throws -> [T] {
        guard count > 0 else { return [] }
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let chunkSize = max(16, (count + workers * 4 - 1) / (workers * 4))
        let chunkCount = (count + chunkSize - 1) / chunkSize
        if chunkCount == 1 { return try chunk(0..<count) }

        var results = [Result<[T], any Error>?](repeating: nil, count: chunkCount)
        results.withUnsafeMutableBufferPointer { slots in
            // Each iteration writes only its own slot, so the shared buffer needs no lock.
            nonisolated(unsafe) let slots = slots
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunkIndex in
                let start = chunkIndex * chunkSize
                let range = start..<min(count, start + chunkSize)
                slots[chunkIndex] = Result { try chunk(range) }
            }
        }
        var output = [T]()
        output.reserveCapacity(count)
        for result in results {
            guard let result else { continue }
            output.append(contentsOf: try result.get())
        }
        return output
    }
}
