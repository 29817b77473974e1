import Foundation
import Testing

/// `glossa align rank` (scripted and under tmux), the reward-model recipe, `glossa align score`, and GRPO and DPO from
/// rankings, on the committed arithmetic SFT model (0.33 M parameters).
@Suite struct RankCLITests {
    static let model = GlossaRunner.repositoryRoot.appendingPathComponent("models/arithmetic-sft").path
    static let tokenizer = GlossaRunner.repositoryRoot.appendingPathComponent("models/arithmetic-sft/tokenizer.model").path

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-rank-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func writePrompts(_ count: Int, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent("prompts.jsonl")
        let lines = (0..<count).map { "{\"prompt\":\"What is \($0 + 3) + \(2 * $0 % 7)?\",\"reference\":\"\($0 + 3 + 2 * $0 % 7)\"}\n" }
        try Data(lines.joined().utf8).write(to: url)
        return url.path
    }

    func records(_ path: String) throws -> [[String: Any]] {
        try outputLines(String(contentsOfFile: path, encoding: .utf8)).map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    /// A `glossa` child whose standard input and output are pipes, read a line at a time.
    final class Session {
        let process = Process()
        let input = Pipe(), output = Pipe()
        var buffer = Data()

        init(_ args: [String]) throws {
            process.executableURL = try GlossaRunner.binary()
            process.arguments = args
            process.standardInput = input
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// The next stdout line as JSON, or nil at the end of output.
        func next() throws -> [String: Any]? {
            while !buffer.contains(0x0A) {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
            let end = buffer.firstIndex(of: 0x0A) ?? buffer.endIndex
            let line = buffer[buffer.startIndex..<end]
            buffer = Data(buffer[(end + 1)...])
            return try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any]
        }

        func send(_ line: String) throws { try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8)) }

        func finish() -> Int32 {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func scriptedRankingAppendsUndoesAndResumes() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let prompts = try writePrompts(8, in: dir), output = dir.appendingPathComponent("rankings.jsonl").path
        let args = ["align", "rank", "--model", Self.model, "--prompts", prompts, "--samples", "4", "--temperature", "1.5",
                    "--seed", "3", "--max-new-tokens", "8", "--output", output, "--threads", "1"]
        let session = try Session(args)
        let first = try #require(try session.next())
        let firstResponses = try #require(first["responses"] as? [String])
        #expect(firstResponses.count >= 2 && Set(firstResponses).count == firstResponses.count, "distinct responses: \(first)")
        try session.send((1...firstResponses.count).reversed().map(String.init).joined(separator: " "))
        let second = try #require(try session.next())
        try session.send("s")
        let third = try #require(try session.next())
        try session.send("u")
        // Undo takes back the skip: the second prompt comes again, with the same responses.
        let again = try #require(try session.next())
        #expect(again["index"] as? Int == second["index"] as? Int)
        #expect(again["responses"] as? [String] == second["responses"] as? [String])
        let count = (again["responses"] as? [String])?.count ?? 2
        try session.send((1...count).map(String.init).joined(separator: "="))
        let thirdAgain = try #require(try session.next())
        #expect(thirdAgain["index"] as? Int == third["index"] as? Int)
        try session.send("q")
        #expect(session.finish() == 0)

        let saved = try records(output).filter { $0["skipped"] as? Bool != true }
        #expect(saved.count == 2, "\(saved)")
        #expect(saved.first?["ranking"] as? [[Int]] == (0..<firstResponses.count).reversed().map { [$0] })
        #expect(saved.first?["model"] as? String == Self.model && saved.first?["seed"] != nil && saved.first?["time"] != nil)
        #expect(saved.last?["ranking"] as? [[Int]] == [Array(0..<count)])

        // A rerun continues with the third prompt, whose responses repeat under the seed; a bad ranking line is an error.
        let rerun = try runGlossa(args, stdin: Data("q\n".utf8))
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data((outputLines(rerun.stdout).first ?? "").utf8)) as? [String: Any])
        #expect(shown["index"] as? Int == third["index"] as? Int && shown["responses"] as? [String] == third["responses"] as? [String])
        let bad = try runGlossa(args, stdin: Data("9 9\n".utf8))
        #expect(bad.status != 0 && bad.stderr.contains("is not a response number"), "\(bad.stderr)")
        #expect(try records(output).filter { $0["skipped"] as? Bool != true }.count == 2)

        // A rankings file written for other prompts is refused.
        let other = dir.appendingPathComponent("other.jsonl")
        try Data("{\"prompt\":\"What is 1 + 1?\"}\n".utf8).write(to: other)
        let mismatch = try runGlossa(["align", "rank", "--model", Self.model, "--prompts", other.path, "--output", output], stdin: Data("q\n".utf8))
        #expect(mismatch.status != 0 && mismatch.stderr.contains("other prompts"), "\(mismatch.stderr)")
    }

    static var hasTmux: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") }

    /// The session on a real terminal: a shell script drives a private tmux server (send-keys, capture-pane), since the
    /// script, not the test, then reaps tmux's clients; every wait in it is bounded. The pane's shell writes glossa's exit
    /// status to a file, and the script waits for that: tmux 3.3a now and then never reaps a pane's process (it stays a
    /// zombie, `#{pane_dead}` is 1 and `#{pane_dead_status}` stays empty), with glossa or with a plain shell script alike.
    @Test(.enabled(if: hasTmux)) func theTerminalSessionUnderTmux() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let prompts = try writePrompts(3, in: dir), output = dir.appendingPathComponent("rankings.jsonl").path
        let command = [try GlossaRunner.binary().path, "align", "rank", "--model", Self.model, "--prompts", prompts, "--samples", "4",
                       "--temperature", "1.5", "--seed", "3", "--max-new-tokens", "8", "--output", output, "--threads", "1"]
            .map { "'\($0)'" }.joined(separator: " ")
        let script = """
            T="tmux -L glossa-test-$$"
            wait_for() { i=0; while [ $i -lt 300 ]; do $T capture-pane -p > "$2"; grep -q "$1" "$2" && return 0; sleep 0.2; i=$((i+1)); done; return 1; }
            $T new-session -d -x 120 -y 40 "\(command); echo \\$? > $PWD/status.txt"
            $T set-option -g remain-on-exit on
            pid=$($T display-message -p '#{pane_pid}')
            trap 'kill -9 $pid 2>/dev/null; $T kill-server 2>/dev/null' EXIT
            wait_for 'rank>' first.txt || exit 3
            $T send-keys '7 7' Enter; wait_for 'is not a response number' error.txt || exit 4
            n=$(grep -c '^  *[0-9][0-9]*  ' first.txt); ranking=$(seq $n -1 1 | tr '\\n' ' ')
            $T send-keys "$ranking" Enter; wait_for 'prompt 2 of 3' second.txt || exit 5
            $T send-keys q Enter
            i=0; while [ $i -lt 300 ]; do [ -s status.txt ] && { [ "$(cat status.txt)" = 0 ] && exit 0; exit 7; }; sleep 0.2; i=$((i+1)); done
            exit 6
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = dir
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        func read(_ name: String) -> String { (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)) ?? "" }
        #expect(process.terminationStatus == 0, "the tmux script stopped at step \(process.terminationStatus) (7: glossa exited with \(read("status.txt"))): \(read("first.txt")) \(read("error.txt"))")
        let screen = read("first.txt")
        #expect(screen.contains("glossa align rank") && screen.contains("prompt 1 of 3") && screen.contains("samples ready in"), "\(screen)")
        let numbers = screen.split(separator: "\n").compactMap { line -> Int? in
            line.hasPrefix("  ") ? line.split(separator: " ").first.flatMap { Int($0) } : nil
        }
        #expect(numbers.count >= 2 && numbers == Array(1...Swift.max(numbers.count, 1)), "numbered responses: \(screen)")
        let saved = try records(output)
        #expect(saved.count == 1 && saved.first?["ranking"] as? [[Int]] == (0..<numbers.count).reversed().map { [$0] }, "\(saved)")
    }

    /// A rankings file by the true arithmetic reward: the right tagged answer, then a wrong tagged one, then a bare number.
    func arithmeticRankings(in dir: URL) throws -> String {
        let url = dir.appendingPathComponent("rankings.jsonl")
        var lines: [String] = []
        for i in 0..<48 {
            let (a, b) = (i % 12, (i * 5) % 9)
            let right = "<answer>\(a + b)</answer>", wrong = "<answer>\(a + b + 1 + i % 3)</answer>", bare = "\(a + b)"
            let record: [String: Any] = ["index": i, "prompt": "What is \(a) + \(b)?", "responses": [wrong, bare, right],
                                         "ranking": [[2], [0], [1]]]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: record), as: UTF8.self))
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: url)
        return url.path
    }

    func recipe(_ objective: String, block: [String: Any], output: String, steps: Int, in dir: URL) throws -> String {
        let text = dir.appendingPathComponent("text.txt")
        try Data("What is 1 + 2? <answer>3</answer>\n".utf8).write(to: text)
        let recipe: [String: Any] = [
            "plugin": "causal-lm", "objective": objective, "base": Self.model, "model": [String: Any](),
            "data": ["train": ["source": text.path, "target": text.path]],
            "tokenizer": ["model": Self.tokenizer, "vocab_size": 24, "model_type": "unigram", "character_coverage": 1.0],
            objective: block,
            "training": ["max_tokens": 1024, "max_length": 48, "learning_rate": 0.003, "warmup_steps": 2, "steps": steps,
                         "validate_every": 10, "checkpoint_every": 100, "average_last": 1, "keep_best": false, "seed": 1, "threads": 1],
            "output": output,
        ]
        let url = dir.appendingPathComponent("\(objective).json")
        try JSONSerialization.data(withJSONObject: recipe).write(to: url)
        return url.path
    }

    @Test func rewardModelTrainsScoresAndDrivesGRPOAndDPO() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rankings = try arithmeticRankings(in: dir), rm = dir.appendingPathComponent("rm").path
        let train = try runGlossa(["train", "--recipe", try recipe("reward", block: ["train": rankings, "dev_fraction": 0.25, "batch_size": 8],
                                                                   output: rm, steps: 30, in: dir)])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stderr.contains("36 training rankings (108 pairs, 0 of them ties), 12 held-out rankings"), "\(train.stderr)")
        let config = try String(contentsOfFile: rm + "/config.json", encoding: .utf8)
        #expect(config.contains("glossa_reward") && config.contains("last_token"))
        #expect(FileManager.default.fileExists(atPath: rm + "/reward-accuracy.svg"))

        let scored = try runGlossa(["align", "score", "--reward-model", rm, "--rankings", rankings, "--json"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let scores = try #require(try JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [String: Double])
        #expect(scores["pairs"] == 144 && (scores["accuracy"] ?? 0) > 0.6, "\(scores)")

        let lines = "{\"prompt\":\"What is 2 + 3?\",\"response\":\"<answer>5</answer>\"}\n{\"prompt\":\"What is 2 + 3?\",\"response\":\"5\"}\n"
        let each = try runGlossa(["align", "score", "--reward-model", rm], stdin: Data(lines.utf8))
        #expect(each.status == 0 && outputLines(each.stdout).compactMap(Double.init).count == 2, "\(each.stdout) \(each.stderr)")
        let twice = try runGlossa(["align", "score", "--reward-model", rm], stdin: Data(lines.utf8))
        #expect(twice.stdout == each.stdout)
        let bad = try runGlossa(["align", "score", "--reward-model", rm], stdin: Data("{\"prompt\": 1}\n".utf8))
        #expect(bad.status != 0 && bad.stderr.contains("standard input:1"), "\(bad.stderr)")
        let notReward = try runGlossa(["align", "score", "--reward-model", Self.model], stdin: Data(lines.utf8))
        #expect(notReward.status != 0 && notReward.stderr.contains("not a reward model"), "\(notReward.stderr)")

        let prompts = try writePrompts(8, in: dir)
        let grpo = try runGlossa(["train", "--recipe", try recipe("grpo", block: [
            "train": prompts, "reward_model": rm, "monitor_reward": "arithmetic", "group_size": 4, "prompts_per_batch": 2, "max_new_tokens": 8,
        ], output: dir.appendingPathComponent("grpo").path, steps: 2, in: dir)])
        #expect(grpo.status == 0 && grpo.stderr.contains("reward model \(rm) (monitoring arithmetic)"), "\(grpo.stderr)")
        let log = try String(contentsOfFile: dir.appendingPathComponent("grpo/training.json").path, encoding: .utf8)
        #expect(log.contains("true_reward") && log.contains("learned_reward"))
        let both = try runGlossa(["train", "--recipe", try recipe("grpo", block: ["train": prompts, "reward_model": rm, "reward": "arithmetic"],
                                                                  output: dir.appendingPathComponent("grpo2").path, steps: 2, in: dir)])
        #expect(both.status != 0 && both.stderr.contains("one of them"), "\(both.stderr)")
        let ensemble = try runGlossa(["train", "--recipe", try recipe("grpo", block: ["train": prompts, "reward_model": [rm, rm], "group_size": 4,
                                                                                      "prompts_per_batch": 2, "max_new_tokens": 8],
                                                                      output: dir.appendingPathComponent("grpo3").path, steps: 1, in: dir)])
        #expect(ensemble.status == 0 && ensemble.stderr.contains("reward ensemble of \(rm), \(rm)"), "\(ensemble.stderr)")
        let none = try runGlossa(["train", "--recipe", try recipe("grpo", block: ["train": prompts, "reward_model": [String]()],
                                                                  output: dir.appendingPathComponent("grpo4").path, steps: 1, in: dir)])
        #expect(none.status != 0 && none.stderr.contains("at least one directory"), "\(none.stderr)")

        let dpo = try runGlossa(["train", "--recipe", try recipe("dpo", block: ["rankings": rankings],
                                                                 output: dir.appendingPathComponent("dpo").path, steps: 2, in: dir)])
        #expect(dpo.status == 0 && dpo.stderr.contains("144 preference pairs (144 from rankings)"), "\(dpo.stderr)")
    }

    @Test func plotDrawsSeriesAndRefusesBadInput() throws {
        let dir = try folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("series.json"), svg = dir.appendingPathComponent("plot.svg").path
        try Data(#"{"title": "t", "x_label": "x", "y_label": "y", "series": [{"name": "a", "points": [[50, 0.9], [200, 0.93]]}]}"#.utf8).write(to: input)
        let drawn = try runGlossa(["align", "plot", "--input", input.path, "--output", svg])
        #expect(drawn.status == 0, "\(drawn.stderr)")
        #expect(try String(contentsOfFile: svg, encoding: .utf8).contains("<svg"))
        try Data(#"{"title": "t", "x_label": "x", "y_label": "y", "series": [{"name": "a", "points": [[1]]}]}"#.utf8).write(to: input)
        let bad = try runGlossa(["align", "plot", "--input", input.path, "--output", svg])
        #expect(bad.status != 0 && bad.stderr.contains("[x, y]"), "\(bad.stderr)")
        let few = try runGlossa(["align", "rank", "--model", Self.model, "--prompts", input.path, "--samples", "1", "--output", svg])
        #expect(few.status != 0 && few.stderr.contains("--samples"), "\(few.stderr)")
    }
}
