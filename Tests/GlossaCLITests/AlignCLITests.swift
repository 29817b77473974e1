import Foundation
import Testing

/// `glossa align`: the data builders and the scores of the fine-tuning ladder, on a tiny trained model.
@Suite struct AlignCLITests {
    func records(_ path: String) throws -> [[String: Any]] {
        try outputLines(String(contentsOfFile: path, encoding: .utf8)).map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func arithmeticDataKeepsHeldOutPairsApartAndAnswersRight() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-align-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func problems(_ extra: [String]) throws -> Set<String> {
            let path = folder.appendingPathComponent("p.jsonl").path
            let run = try runGlossa(["align", "arithmetic-data", "--count", "300", "--max-operand", "9", "--output", path] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            var prompts = Set<String>()
            for record in try records(path) {
                let prompt = try #require(record["prompt"] as? String), reference = try #require(record["reference"] as? String)
                let numbers = prompt.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
                #expect(prompt.hasPrefix("What is ") && numbers.count == 2 && Int(reference) == numbers.reduce(0, +), "\(record)")
                prompts.insert(prompt)
            }
            return prompts
        }
        let training = try problems(["--seed", "1"]), heldOut = try problems(["--seed", "2", "--held-out"])
        #expect(training.isDisjoint(with: heldOut))
        #expect(heldOut.count >= 5 && training.count > heldOut.count)

        let bad = try runGlossa(["align", "arithmetic-data", "--count", "0", "--output", folder.appendingPathComponent("x").path])
        #expect(bad.status != 0 && bad.stderr.contains("--count"), "\(bad.stderr)")
    }

    @Test func preferencePairsFromSamplesAndTheirScores() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-align-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let trained = try GenerateCLITests.trainTinyModel(in: folder)
        try #require(trained.status == 0, "\(trained.stderr)")
        let root = GlossaRunner.repositoryRoot.appendingPathComponent("corpora")
        func firstLines(_ name: String) throws -> String {
            let text = try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
            let url = folder.appendingPathComponent(name)
            try Data((text.split(separator: "\n").prefix(12).joined(separator: "\n") + "\n").utf8).write(to: url)
            return url.path
        }
        let (source, references) = (try firstLines("en-de.dev.en"), try firstLines("en-de.dev.de"))

        let sft = folder.appendingPathComponent("sft.jsonl").path
        let sftRun = try runGlossa(["align", "sft-data", "--source", source, "--target", references, "--limit", "5", "--output", sft])
        #expect(sftRun.status == 0, "\(sftRun.stderr)")
        let examples = try records(sft)
        #expect(examples.count == 5 && (examples.first?["prompt"] as? String)?.hasPrefix("Translate to German: ") == true, "\(examples)")

        // Four samples per source; the chosen and rejected texts differ, and a seed repeats the file.
        let pairs = folder.appendingPathComponent("pairs.jsonl").path, again = folder.appendingPathComponent("again.jsonl").path
        for output in [pairs, again] {
            let run = try runGlossa(["align", "dpo-data", "--model", trained.model, "--source", source, "--references", references,
                                     "--samples", "4", "--max-new-tokens", "8", "--seed", "5", "--threads", "1", "--output", output])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let written = try records(pairs)
        #expect(!written.isEmpty && written.count <= 12)
        #expect(written.allSatisfy { ($0["chosen"] as? String) != ($0["rejected"] as? String) })
        #expect(try Data(contentsOf: URL(fileURLWithPath: pairs)) == Data(contentsOf: URL(fileURLWithPath: again)))

        // Length-matched pairs: within 30% of the chosen length, and the rejected side no shorter for even-numbered
        // sources and no longer for odd ones.
        let matched = folder.appendingPathComponent("matched.jsonl").path
        let matching = try runGlossa(["align", "dpo-data", "--model", trained.model, "--source", source, "--references", references,
                                      "--samples", "6", "--max-new-tokens", "8", "--length-tolerance", "0.3", "--balance-lengths",
                                      "--threads", "1", "--output", matched])
        #expect(matching.status == 0, "\(matching.stderr)")
        let sources = try outputLines(String(contentsOfFile: source, encoding: .utf8))
        #expect(try !records(matched).isEmpty)
        for record in try records(matched) {
            let chosen = try #require(record["chosen"] as? String), rejected = try #require(record["rejected"] as? String)
            let prompt = try #require(record["prompt"] as? String)
            let index = try #require(sources.firstIndex { "Translate to German: " + $0 == prompt })
            #expect(Double(abs(chosen.count - rejected.count)) <= 0.3 * Double(chosen.count), "\(record)")
            #expect(index % 2 == 0 ? rejected.count >= chosen.count : rejected.count <= chosen.count, "\(index): \(record)")
        }

        // While the policy is the reference, every implicit reward is 0: loss log 2, accuracy 0.
        let scored = try runGlossa(["align", "preference", "--model", trained.model, "--reference", trained.model, "--data", pairs,
                                    "--json", "--threads", "1"])
        #expect(scored.status == 0, "\(scored.stderr)")
        let scores = try #require(try JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [String: Any])
        #expect(abs(((scores["loss"] as? Double) ?? 0) - log(2)) < 1e-4, "\(scores)")
        #expect((scores["accuracy"] as? Double) == 0, "\(scores)")

        let one = try runGlossa(["align", "dpo-data", "--model", trained.model, "--source", source, "--references", references,
                                 "--samples", "1", "--output", again])
        #expect(one.status != 0 && one.stderr.contains("--samples"), "\(one.stderr)")
        let missing = try runGlossa(["align", "preference", "--model", trained.model, "--reference", trained.model,
                                     "--data", folder.appendingPathComponent("none.jsonl").path])
        #expect(missing.status != 0 && missing.stderr.contains("none.jsonl"), "\(missing.stderr)")
    }
}
