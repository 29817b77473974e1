import ArgumentParser
import Foundation
import Glossa
import GlossaNN
import GlossaTensor
#if canImport(Glibc)
import Glibc
#endif

extension AlignCommand {
    /// `glossa align rank`: a person ranks K sampled responses per prompt; the rankings are the reward model's data.
    struct Rank: PluginCommand {
        static let configuration = CommandConfiguration(
            commandName: "rank", abstract: "Rank a model's sampled responses to prompts, one prompt at a time (the data of a reward model).",
            discussion: """
                For each prompt of --prompts (JSON Lines with a "prompt" field) the model samples --samples responses \
                (the sampling flags of `glossa generate`; each prompt's seed is derived from --seed and its position, so a \
                rerun shows the same responses). Identical samples are shown once. Type the response numbers best first \
                ("2 1 3"), ties joined by "=" ("2=1 3"); "s" skips the prompt, "u" takes back the last record, "q" stops. \
                Each answer is added to --output at once (the whole file is replaced atomically, so it is never half \
                written); rerunning the same command continues with the prompts not yet in it. While you read one prompt \
                the next one's responses are being sampled.

                On a terminal the prompt and its responses are drawn on a cleared screen. When standard input is not a \
                terminal it is a line interface for scripts: each prompt to rank is one JSON line on standard output, \
                {"index", "prompt", "responses"}, and each line read from standard input answers it (end of input stops).
                """)

        @Option(help: "The decoder-only model directory to sample from.") var model: String
        @Option(help: "Prompts: JSON Lines with a \"prompt\" field.") var prompts: String
        @Option(help: "Responses sampled per prompt.") var samples = 4
        @Option(help: "The rankings file (JSON Lines); appended to, and read to resume.") var output: String
        @Option(help: "The longest response.") var maxNewTokens = 64
        @OptionGroup var sampling: SamplingOptions
        @OptionGroup var threads: ThreadOptions

        func validate() throws {
            try FlagBounds.check(samples, 2...FlagBounds.samples.upperBound, "--samples")
            try FlagBounds.check(maxNewTokens, FlagBounds.newTokens, "--max-new-tokens")
            if sampling.temperature == 0 { throw ValidationError("--temperature must be above 0: greedy search gives one response, nothing to rank") }
        }

        /// A prompts-file record: only `prompt` is read (a `reference` or other fields may be there).
        struct PromptLine: Decodable { var prompt: String }

        func run(plugins: PluginRegistry) throws {
            threads.apply()
            try OutputSink.refuseInput(output, inputs: [prompts])
            let items = try JSONLines.read(PromptLine.self, from: prompts).map(\.prompt)
            guard !items.isEmpty else { throw CommandError(description: "\(prompts) holds no prompts") }
            var file = try RankingFile(path: output, prompts: items)
            let lm = try AlignCommand.loadModel(model, plugins: plugins)
            let encoded = try lm.tokenizer.encodeBatch(items)
            if let positions = lm.model.decoder.maxLength, let long = encoded.indices.first(where: { encoded[$0].count + 2 > positions }) {
                throw CommandError(description: "\(prompts): prompt \(long + 1) takes \(encoded[long].count + 1) of the model's \(positions) positions, "
                                   + "leaving none for a response; shorten it")
            }
            let seeds = items.indices.map { Self.seed(sampling.seed, index: $0) }
            let (k, maxNew, base) = (samples, maxNewTokens, sampling.sampler)
            let prefetcher = ResponsePrefetcher { index in
                var sampler = base
                sampler.generator = SeededGenerator(seed: seeds[index])
                let rows = try withoutGrad {
                    try ResponseGeneration.generate(lm.model, prompts: [[Int]](repeating: encoded[index], count: k), sampler: sampler,
                                                    maxNewTokens: maxNew, batchSize: k)
                }
                var seen = Set<String>(), out: [String] = []
                for row in rows {
                    let text = try lm.tokenizer.decode(row.tokens)
                    if seen.insert(text).inserted { out.append(text) }
                }
                return out
            }
            let screen = isatty(0) != 0 ? RankingScreen.terminal : RankingScreen.lines
            var queue = items.indices.filter { !file.done.contains($0) }, position = 0
            var shownAgain: [Int: [String]] = [:]  // the responses of undone records, shown as they were
            if !file.records.isEmpty {
                AlignCommand.log("\(output): \(file.records.count) records already; \(queue.count) of \(items.count) prompts to go")
            }
            var stoppedEarly = false
            session: while position < queue.count {
                let index = queue[position]
                if position + 1 < queue.count, shownAgain[queue[position + 1]] == nil { prefetcher.request(queue[position + 1]) }
                let started = Date()
                let responses = try shownAgain[index] ?? prefetcher.wait(index)
                let waited = Date().timeIntervalSince(started)
                // The prompt after this one starts sampling while this one is read.
                if position + 1 < queue.count, shownAgain[queue[position + 1]] == nil { prefetcher.request(queue[position + 1]) }
                var record = RankingRecord(index: index, prompt: items[index], responses: responses, ranking: [], model: model,
                                           seed: seeds[index], time: ISO8601DateFormatter().string(from: Date()))
                if responses.count < 2 {
                    AlignCommand.log("prompt \(index + 1): all \(samples) samples were the same response; recorded as skipped")
                    record.skipped = true
                    try file.append(record)
                    position += 1
                    continue
                }
                let status = RankingScreen.Status(number: index + 1, total: items.count, ranked: file.records.count, left: queue.count - position,
                                                  waited: waited)
                try screen.show(record, status: status)
                while true {
                    guard let line = readLine(strippingNewline: true) else { stoppedEarly = position < queue.count; break session }
                    let command: RankingCommand
                    do { command = try RankingCommand.parse(line, count: responses.count) } catch {
                        guard screen == .terminal else { throw CommandError(description: "prompt \(index + 1): \(error)") }
                        try screen.say("\(error)")
                        continue
                    }
                    switch command {
                    case .ranking(let groups):
                        record.ranking = groups
                        try file.append(record)
                        position += 1
                    case .skip:
                        record.skipped = true
                        try file.append(record)
                        position += 1
                    case .undo:
                        let taken = try file.undo()
                        guard !taken.isEmpty else {
                            try screen.say("nothing to undo")
                            continue
                        }
                        for record in taken { shownAgain[record.index] = record.responses }
                        queue.insert(contentsOf: taken.map(\.index), at: position)
                    case .quit:
                        stoppedEarly = true
                        break session
                    case .help:
                        try screen.say(RankingScreen.help)
                        continue
                    }
                    continue session
                }
            }
            try screen.finish()
            let left = items.indices.filter { !file.done.contains($0) }.count
            AlignCommand.log("\(output): \(file.records.count) records; " + (left == 0 ? "every prompt is done"
                             : "\(left) prompts to go" + (stoppedEarly ? "; rerun the same command to continue" : "")))
        }

        /// The seed of prompt `index`'s samples: the run's seed and the position mixed (SplitMix64's finaliser).
        static func seed(_ seed: UInt64, index: Int) -> UInt64 {
            var z = seed &+ UInt64(index + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// The rankings file of a session: its lines as read (kept byte for byte) and as records; every change replaces the
/// whole file atomically, so a crash leaves the last complete version.
struct RankingFile {
    let path: String
    private(set) var lines: [String]
    private(set) var records: [RankingRecord]

    /// Reads `path` when it exists; each record with an index must match that prompt of `prompts`.
    init(path: String, prompts: [String]) throws {
        self.path = path
        lines = []
        records = []
        guard FileManager.default.fileExists(atPath: path) else { return }
        let decoder = JSONDecoder()
        for (number, line) in try InputFile.lines(path, purpose: "the rankings file").enumerated() where !line.allSatisfy(\.isWhitespace) {
            guard let record = try? decoder.decode(RankingRecord.self, from: Data(line.utf8)) else {
                throw CommandError(description: "\(path):\(number + 1): not a ranking record; is --output the right file?")
            }
            if let index = record.index, !prompts.indices.contains(index) || prompts[index] != record.prompt {
                throw CommandError(description: "\(path):\(number + 1): this record's prompt is not prompt \(index + 1) of the prompts file; "
                                   + "the file was written for other prompts (give another --output)")
            }
            lines.append(line)
            records.append(record)
        }
    }

    /// The prompt indices already recorded (ranked or skipped).
    var done: Set<Int> { Set(records.compactMap(\.index)) }

    mutating func append(_ record: RankingRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        lines.append(String(decoding: try encoder.encode(record), as: UTF8.self))
        records.append(record)
        try save()
    }

    /// Removes the last record a person made, with the automatic skips (single-response prompts) recorded after it, and
    /// returns them oldest first; empty when the last record has no index (it was not written by `rank`) or there is none.
    mutating func undo() throws -> [(index: Int, responses: [String])] {
        var taken: [(index: Int, responses: [String])] = []
        while let last = records.last, let index = last.index {
            records.removeLast()
            lines.removeLast()
            taken.insert((index, last.responses), at: 0)
            if last.responses.count >= 2 { break }
        }
        if !taken.isEmpty { try save() }
        return taken
    }

    private func save() throws {
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do { try AtomicFile.write(Data(lines.map { $0 + "\n" }.joined().utf8), to: url) } catch let error as AtomicFileError {
            throw CommandError(description: error.description)
        }
    }
}

/// Samples prompts' responses on one background queue, so the next prompt's are ready while a person reads the
/// current one; the model is only ever used on that queue, one prompt at a time.
final class ResponsePrefetcher: @unchecked Sendable {
    private let queue = DispatchQueue(label: "glossa.align.rank.samples")
    private let condition = NSCondition()
    private var results: [Int: Result<[String], any Error>] = [:]
    private var requested = Set<Int>()
    private let make: (Int) throws -> [String]

    init(make: @escaping (Int) throws -> [String]) { self.make = make }

    /// Starts sampling prompt `index` unless it was asked for already.
    func request(_ index: Int) {
        condition.lock()
        let fresh = requested.insert(index).inserted
        condition.unlock()
        guard fresh else { return }
        queue.async {
            let result = Result { try self.make(index) }
            self.condition.lock()
            self.results[index] = result
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    /// Prompt `index`'s responses, waiting for them (and asking for them) if needed.
    func wait(_ index: Int) throws -> [String] {
        request(index)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let result = results[index] { return try result.get() }
            condition.wait()
        }
    }
}

/// How a session is shown: a cleared terminal screen for a person, or JSON lines for a script.
enum RankingScreen: Equatable {
    case terminal, lines

    /// Where the session stands, for the terminal's header.
    struct Status {
        var number: Int, total: Int, ranked: Int, left: Int
        /// Seconds spent waiting for this prompt's samples (near 0 when they were sampled while the last was read).
        var waited: Double
    }

    static let help = """
        Type the response numbers best first, e.g. "2 1 3"; join ties with "=", e.g. "2=1 3".
        s  skip this prompt    u  undo the last record    q  quit (rerun to continue)    ?  this help
        """

    func show(_ record: RankingRecord, status: Status) throws {
        switch self {
        case .lines:
            struct Shown: Encodable { var index: Int; var prompt: String; var responses: [String] }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(Shown(index: record.index ?? 0, prompt: record.prompt, responses: record.responses))) ?? Data("{}".utf8)
            try write(data + Data("\n".utf8))
        case .terminal:
            var text = "\u{1B}[2J\u{1B}[H"
            text += "\u{1B}[1mglossa align rank\u{1B}[0m  prompt \(status.number) of \(status.total)  ·  \(status.ranked) recorded, "
                + "\(status.left) to go  ·  samples ready in \(String(format: "%.2f", status.waited)) s\n\n"
            text += "\u{1B}[1m" + record.prompt + "\u{1B}[0m\n\n"
            for (i, response) in record.responses.enumerated() {
                text += String(format: "  %2d  ", i + 1) + response.replacingOccurrences(of: "\n", with: "⏎ ") + "\n"
            }
            text += "\nbest first: \"2 1 3\", ties \"2=1 3\"   s skip  u undo  q quit  ? help\n"
            try write(Data(text.utf8))
            try prompt()
        }
    }

    /// A message for the person (the terminal only; the line interface reports errors by exiting).
    func say(_ message: String) throws {
        guard self == .terminal else { return }
        try write(Data(("\u{1B}[33m" + message + "\u{1B}[0m\n").utf8))
        try prompt()
    }

    func finish() throws {
        if self == .terminal { try write(Data("\n".utf8)) }
    }

    private func prompt() throws { try write(Data("rank> ".utf8)) }

    private func write(_ data: Data) throws { try FileHandle.standardOutput.write(contentsOf: data) }
}
