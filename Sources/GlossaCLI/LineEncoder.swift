import Dispatch
import GlossaSentencePiece

/// The body of `glossa tokenizer encode`: bytes in, one formatted line out per line in, no `String` on the way.
struct LineEncoder: Sendable {
    let tokenizer: SentencePieceTokenizer
    let hygiene: TextHygiene
    let format: TokenizerOutputFormat

    /// One line at a time, each written and flushed before the next is read.
    func stream(reader: LineReader, writer: OutputWriter) throws {
        let ids = try IDBuffer()
        let pieces = try PieceBuffer()
        var output = [UInt8]()
        while let line = try reader.next() {
            output.removeAll(keepingCapacity: true)
            try encode(line, number: reader.lineNumber, ids: ids, pieces: pieces, into: &output)
            writer.write(output)
            try writer.flush()
        }
    }

    /// Every line already buffered is encoded as one batch on `jobs` threads, written in order, then flushed
    /// before the reader waits for more input; interactive use still gets each answer before its next question.
    func streamBatched(reader: LineReader, writer: OutputWriter, jobs: Int) throws {
        var batch = [UnsafeBufferPointer<UInt8>]()
        var firstNumber = 0
        while let line = try reader.next() {
            batch = [line]
            firstNumber = reader.lineNumber
            // Lines stay valid until the reader refills, which only happens when no whole line is buffered.
            while reader.hasBufferedLine, let more = try reader.next() { batch.append(more) }
            try encodeBatch(batch, firstNumber: firstNumber, jobs: jobs, writer: writer)
            try writer.flush()
        }
    }

    private func encodeBatch(_ lines: [UnsafeBufferPointer<UInt8>], firstNumber: Int, jobs: Int, writer: OutputWriter) throws {
        let chunkSize = max(8, (lines.count + jobs * 4 - 1) / (jobs * 4))
        let chunkCount = (lines.count + chunkSize - 1) / chunkSize
        var outputs = [(bytes: [UInt8], error: (any Error)?)](repeating: ([], nil), count: chunkCount)
        outputs.withUnsafeMutableBufferPointer { slots in
            // Each iteration writes only its own slot.
            nonisolated(unsafe) let slots = slots
            nonisolated(unsafe) let lines = lines
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                var output = [UInt8]()
                do {
                    let ids = try IDBuffer()
                    let pieces = try PieceBuffer()
                    for index in (chunk * chunkSize)..<min(lines.count, (chunk + 1) * chunkSize) {
                        try encode(lines[index], number: firstNumber + index, ids: ids, pieces: pieces, into: &output)
                    }
                    slots[chunk] = (output, nil)
                } catch {
                    slots[chunk] = (output, error)
                }
            }
        }
        // Lines before a failing one are still written, exactly as the streaming path would have.
        for slot in outputs {
            writer.write(slot.bytes)
            if let error = slot.error {
                try writer.flush()
                throw error
            }
        }
    }

    private func encode(
        _ line: UnsafeBufferPointer<UInt8>, number: Int, ids: IDBuffer, pieces: PieceBuffer, into output: inout [UInt8]
    ) throws {
        try hygiene.withCleanLine(line, lineNumber: number) { clean in
            switch format {
            case .id:
                try tokenizer.encode(utf8: clean, into: ids)
                for (position, id) in ids.view.enumerated() {
                    if position > 0 { output.append(0x20) }
                    OutputWriter.appendDecimal(id, to: &output)
                }
            case .piece:
                try tokenizer.encodePieces(utf8: clean, into: pieces)
                var first = true
                pieces.forEachPiece { piece in
                    if !first { output.append(0x20) }
                    first = false
                    output.append(contentsOf: piece)
                }
            }
        }
        output.append(0x0A)
    }
}
