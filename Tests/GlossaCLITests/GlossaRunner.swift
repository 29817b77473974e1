import Foundation
import Testing

/// Runs the built `glossa` binary as a subprocess, so the tests see exactly what a user sees: exit status,
/// standard output and standard error.
enum GlossaRunner {
    /// The repository root, from this file's place in `Tests/GlossaCLITests/`.
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The SentencePiece fixture model shared with GlossaSentencePieceTests.
    static let tokenizerModel = repositoryRoot
        .appendingPathComponent("Tests/GlossaSentencePieceTests/Fixtures/tiny.model").path

    /// Where `glossa` may be, best first: `GLOSSA_BINARY`, then the products directory the tests run from
    /// (SwiftPM builds the executable beside the test bundle), then the usual `.build` folders.
    static var candidates: [URL] {
        var urls: [URL] = []
        if let path = ProcessInfo.processInfo.environment["GLOSSA_BINARY"], !path.isEmpty {
            urls.append(URL(fileURLWithPath: path))
        }
        // Linux runs the test executable straight from the products directory; macOS runs an .xctest
        // bundle that sits in it.
        if let executable = Bundle.main.executableURL {
            urls.append(executable.deletingLastPathComponent().appendingPathComponent("glossa"))
        }
        urls.append(Bundle.main.bundleURL.appendingPathComponent("glossa"))
        urls.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("glossa"))
        for configuration in ["release", "debug"] {
            urls.append(repositoryRoot.appendingPathComponent(".build/\(configuration)/glossa"))
        }
        return urls
    }

    /// The first candidate that is an executable file.
    static func binary() throws -> URL {
        let fileManager = FileManager.default
        if let found = candidates.first(where: { fileManager.isExecutableFile(atPath: $0.path) }) { return found }
        throw RunnerError(
            description: "No glossa binary found (looked at \(candidates.map(\.path))); build it with `swift build` or set GLOSSA_BINARY.")
    }
}

/// Why the runner could not start `glossa`.
struct RunnerError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `glossa args…` with `stdin` as its standard input (empty when `nil`) and waits for it.
///
/// Output goes through temporary files rather than pipes, so a large output cannot fill a pipe and stall the
/// child. A death by signal is reported as status 128 + signal, as shells do, so it never looks like success
/// or like an ordinary error exit.
func runGlossa(_ args: [String], stdin: Data? = nil, environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    let fileManager = FileManager.default
    let folder = fileManager.temporaryDirectory.appendingPathComponent("glossa-cli-tests-\(UUID().uuidString)")
    try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? fileManager.removeItem(at: folder) }
    let input = folder.appendingPathComponent("stdin")
    let output = folder.appendingPathComponent("stdout")
    let errors = folder.appendingPathComponent("stderr")
    try (stdin ?? Data()).write(to: input)
    try Data().write(to: output)
    try Data().write(to: errors)

    let process = Process()
    process.executableURL = try GlossaRunner.binary()
    process.arguments = args
    if !environment.isEmpty {
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    let inputHandle = try FileHandle(forReadingFrom: input)
    let outputHandle = try FileHandle(forWritingTo: output)
    let errorHandle = try FileHandle(forWritingTo: errors)
    defer {
        try? inputHandle.close()
        try? outputHandle.close()
        try? errorHandle.close()
    }
    process.standardInput = inputHandle
    process.standardOutput = outputHandle
    process.standardError = errorHandle
    try process.run()
    process.waitUntilExit()

    let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    return (status,
            String(decoding: try Data(contentsOf: output), as: UTF8.self),
            String(decoding: try Data(contentsOf: errors), as: UTF8.self))
}

/// The lines of a command's output, without the final newline's empty remainder.
func outputLines(_ text: String) -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
}
