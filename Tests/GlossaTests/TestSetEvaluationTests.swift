import Foundation
import Glossa
import GlossaBuiltins
import Testing

/// `TestSet`: the scores `glossa eval` and `glossa compare` report, called from Swift.
@Suite struct TestSetEvaluationTests {
    /// Three short lines from one origin and one long line from another.
    func sample() throws -> TestSet {
        let long = (1...45).map { "word\($0)" }.joined(separator: " ")
        return try TestSet(sources: ["a b c", "one two three four", long, (1...12).map(String.init).joined(separator: " ")],
                           references: ["the cat sat on the mat", "a dog ran in the park", "it rained all day long", "we went home early"],
                           origins: ["ding:1", "ding:2", "help:9", "ding:3"])
    }

    @Test func perfectHypothesesScoreOneHundredEverywhere() throws {
        let test = try sample()
        let result = try test.score(test.references, seconds: 2, generatedTokens: 30)
        #expect(result.all.lines == 4 && abs(result.all.bleu - 100) < 1e-9 && abs(result.all.chrF - 100) < 1e-9)
        #expect(Set(result.byOrigin.keys) == ["ding:1", "ding:2", "ding:3", "help:9"])
        #expect(result.byLength.mapValues(\.lines) == ["1–10": 2, "11–20": 1, "41+": 1])
        #expect(result.sentencesPerSecond == 2 && result.generatedTokensPerSecond == 15)
    }

    @Test func groupsAreScoredAsTheirOwnCorpus() throws {
        let test = try sample().groupingOrigins()
        #expect(test.origins == ["ding", "ding", "help", "ding"])
        let hypotheses = ["the cat sat on the mat", "something else entirely", "no", "we went home early"]
        let result = try test.score(hypotheses)
        let ding = try #require(result.byOrigin["ding"])
        let expected = try ChrF().corpusScore(hypotheses: [hypotheses[0], hypotheses[1], hypotheses[3]],
                                              references: [test.references[0], test.references[1], test.references[3]]).score
        #expect(ding.lines == 3 && ding.chrF == expected)
        #expect(result.byOrigin["help"]?.lines == 1 && (result.byOrigin["help"]?.chrF ?? 100) < 20)
        #expect(result.all.chrF > 0 && result.all.chrF < 100)
        // A clock that did not move gives finite speeds.
        #expect(result.sentencesPerSecond.isFinite)
    }

    @Test func lengthBucketsCountWhitespaceWords() {
        #expect(TestSet.lengthBucket("") == "1–10")
        #expect(TestSet.lengthBucket(" one\ttwo  ") == "1–10")
        #expect(TestSet.lengthBucket(Array(repeating: "w", count: 11).joined(separator: " ")) == "11–20")
        #expect(TestSet.lengthBucket(Array(repeating: "w", count: 40).joined(separator: " ")) == "21–40")
        #expect(TestSet.lengthBucket(Array(repeating: "w", count: 41).joined(separator: " ")) == "41+")
    }

    @Test func misalignedInputIsRefusedWithASentence() throws {
        #expect(throws: GlossaError.self) { try TestSet(sources: ["a"], references: []) }
        #expect(throws: GlossaError.self) { try TestSet(sources: ["a"], references: ["b"], origins: ["x", "y"]) }
        #expect(throws: GlossaError.self) { try TestSet(sources: ["a"], references: ["b"]).score([]) }

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-testset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func file(_ name: String, _ text: String) throws -> String {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            return url.path
        }
        let (src, ref, org, short) = (try file("s", "a\nb\nc\n"), try file("r", "x\r\ny\nz\n"), try file("o", "p:1\nq\np:2\n"), try file("t", "x\n"))
        let loaded = try TestSet.load(source: src, references: ref, origins: org, limit: 2)
        #expect(loaded.sources == ["a", "b"] && loaded.references == ["x", "y"] && loaded.origins == ["p:1", "q"])
        do {
            _ = try TestSet.load(source: src, references: short)
            Issue.record("three sources and one reference loaded")
        } catch {
            #expect("\(error)" == "\(src) has 3 lines but \(short) has 1; they must have one line per segment each")
        }
    }

    @Test func translatesWithATranslatorAndScoresItsBestCandidates() throws {
        let translator = try Translator.load(BuiltinConformanceTests.marian, registry: builtinPlugins)
        let test = try TestSet(sources: ["Hello world.", "How are you?", "Good morning."], references: ["Hallo Welt.", "Wie geht es?", "Guten Morgen."])
        let greedy = try test.evaluate(translator, search: SearchSettings(beamSize: 1, maxNewTokens: 8))
        #expect(greedy.hypotheses.count == 3)
        #expect(greedy.result.all == (try test.score(greedy.hypotheses).all))
        #expect(greedy.result.generatedTokensPerSecond > 0 && greedy.result.seconds >= 0)
        // The closure form is the same mechanism: the same sampler gives the same hypotheses.
        let closure = try test.evaluate(translator) { try translator.translate($0, search: SearchSettings(beamSize: 1, maxNewTokens: 8)) }
        #expect(closure.hypotheses == greedy.hypotheses)
        // A translate function that returns nothing for a line scores it as an empty hypothesis.
        let empty = try test.evaluate(translator) { _ in [] }
        #expect(empty.hypotheses == ["", "", ""] && empty.result.all.lines == 3)
    }

    @Test func resultsRoundTripThroughJSON() throws {
        let test = try sample()
        let result = try test.score(["the cat", "a dog", "rain", "home"], seconds: 1, generatedTokens: 4)
        let decoded = try JSONDecoder().decode(TestSetResult.self, from: try JSONEncoder().encode(result))
        #expect(decoded == result)
        let keys = try #require(try JSONSerialization.jsonObject(with: try JSONEncoder().encode(result.all)) as? [String: Any]).keys
        #expect(Set(keys) == ["lines", "bleu", "chrF", "repeated", "short"])
        // Reports written before the output checks still load.
        let old = try JSONDecoder().decode(TestSetScores.self, from: Data(#"{"lines": 3, "bleu": 1.5, "chrF": 20}"#.utf8))
        #expect(old == TestSetScores(lines: 3, bleu: 1.5, chrF: 20))
    }

    @Test func outputChecksCatchStutteringAndShortOutputs() throws {
        // The shipped translator's demo lines before the stronger model.
        #expect(OutputChecks.repeats("Öffnen Sie die Datei Datei.", reference: "Öffnen Sie die Datei."))
        #expect(OutputChecks.repeats("Wählen Sie Format – Absatz....", reference: "Wählen Sie Format - Absatz."))
        #expect(OutputChecks.repeats("Klicken Sie auf OK auf OK.", reference: "Klicken Sie auf OK."))
        #expect(!OutputChecks.repeats("Öffnen Sie die Datei.", reference: "Öffnen Sie die Datei."))
        // A repetition the reference has too is not a stutter.
        #expect(!OutputChecks.repeats("Das ist sehr sehr gut.", reference: "Das ist sehr sehr gut."))
        #expect(OutputChecks.isShort("Wählen Sie die Zellen aus.", reference: "Wählen Sie die Zellen aus, die Sie kopieren möchten."))
        #expect(!OutputChecks.isShort("Wählen Sie die Zellen, die Sie kopieren wollen.", reference: "Wählen Sie die Zellen aus, die Sie kopieren möchten."))
        #expect(!OutputChecks.isShort("", reference: "OK."))
        let test = try TestSet(sources: ["Open the file.", "Select the cells that you want to copy."],
                               references: ["Öffnen Sie die Datei.", "Wählen Sie die Zellen aus, die Sie kopieren möchten."])
        let all = try test.score(["Öffnen Sie die Datei Datei.", "Wählen Sie die Zellen aus."]).all
        #expect(all.repeated == 1 && all.short == 1)
    }
}
