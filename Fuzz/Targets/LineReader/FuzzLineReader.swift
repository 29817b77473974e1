import Glibc

/// The body of the `line-reader` target: the bytes become a file read by `LineReader` (the CLI's reader, compiled
/// here from a link to `Sources/GlossaCLI/LineIO.swift`) with a small buffer picked by the first byte, so lines
/// longer than the buffer make it grow. The lines handed out, joined by newlines, must be the input.
func fuzzLineReader(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    let input = bytes.map { Array(UnsafeBufferPointer(start: $0, count: count)) } ?? []
    guard let lines = readLines(input, capacity: 1 + Int(input.first ?? 0) % 64) else { return 0 }
    var joined = Array(lines.joined(separator: [0x0A]))
    if input.last == 0x0A { joined.append(0x0A) }
    // A lost or invented byte is a finding, reported by libFuzzer as a crash with this input.
    precondition(joined == input, "LineReader changed the text: \(input.count) bytes in, \(joined.count) out")
    return 0
}

/// The lines `LineReader` gives for `input`; nil when the scratch file cannot be made.
func readLines(_ input: [UInt8], capacity: Int) -> [[UInt8]]? {
    var template = Array("/tmp/glossa-fuzz-lines-XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { buffer -> Int32 in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    template.withUnsafeBufferPointer { buffer in _ = buffer.baseAddress.map { unlink($0) } }
    var offset = 0
    while offset < input.count {
        let written = input.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + offset }, input.count - offset) }
        guard written > 0 else { return nil }
        offset += written
    }
    guard lseek(fd, 0, SEEK_SET) == 0 else { return nil }
    let reader = LineReader(fd: fd, capacity: capacity)
    var lines: [[UInt8]] = []
    while let line = try? reader.next() { lines.append(Array(line)) }
    return lines
}
