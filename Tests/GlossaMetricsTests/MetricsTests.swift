import Foundation
import Testing

@testable import GlossaMetrics

/// The golden values written by scripts/make-score-fixture.py with sacreBLEU (version inside the JSON).
private struct Expected: Decodable {
    struct BLEUValues: Decodable {
        var score: Double
        var precisions: [Double]
        var brevity_penalty: Double
        var ratio: Double
        var hyp_len: Int
        var ref_len: Int
        var counts: [Int]
        var totals: [Int]
        var formatted: String
    }
    struct ChrFValues: Decodable {
        var score: Double
        var formatted: String
    }
    struct Subset: Decodable {
        var lines: [Int]
        var exp: Double
        var none: Double
        var floor: Double
        var addK: Double
        var chrf: Double
        var counts: [Int]
        var totals: [Int]
        enum CodingKeys: String, CodingKey {
            case lines, exp, none, floor, chrf, counts, totals
            case addK = "add-k"
        }
    }
    struct SentenceChrF: Decodable {
        var line: Int
        var score: Double
    }
    struct Tokenized: Decodable {
        var text: String
        var tokens: String
    }
    var sacrebleu_version: String
    var lines: Int
    var bleu: BLEUValues
    var bleu_smoothing: [String: Double]
    var subsets: [String: Subset]
    var chrf: ChrFValues
    var chrf_plus_plus: Double
    var chrf_eps_smoothing: Double
    var sentence_chrf: [SentenceChrF]
    var tokenize_13a: [Tokenized]
}

private struct Fixture {
    var hypotheses: [String]
    var references: [String]
    var expected: Expected

    static func load() throws -> Fixture {
        let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
            .appendingPathComponent("score")
        let hyp = try lines(root.appendingPathComponent("hyp.txt"))
        let ref = try lines(root.appendingPathComponent("ref.txt"))
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: root.appendingPathComponent("expected.json")))
        return Fixture(hypotheses: hyp, references: ref, expected: expected)
    }

    /// The fixture's lines; it has no `\r` and ends in a newline, so a plain split reads it as sacreBLEU does
    /// (this target links only GlossaMetrics, not GlossaNN's `InputFile.lines`).
    private static func lines(_ url: URL) throws -> [String] {
        var lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        try #require(lines.last == "", "the fixture ends in a newline")
        lines.removeLast()
        return lines.map(String.init)
    }

    func subset(_ name: String) throws -> (hypotheses: [String], references: [String], expected: Expected.Subset) {
        let subset = try #require(expected.subsets[name])
        return (subset.lines.map { hypotheses[$0] }, subset.lines.map { references[$0] }, subset)
    }
}

/// Scores are on sacreBLEU's 0–100 scale; the tolerance is an absolute 0.01 (the brief's bar), though
/// the implementation follows sacreBLEU operation for operation and agrees far more closely.
private let tolerance = 0.01

private func expectClose(_ actual: Double, _ expected: Double, atol: Double = tolerance, _ what: String) {
    #expect(abs(actual - expected) <= atol, "\(what): \(actual) vs sacreBLEU \(expected) (atol \(atol))")
}

@Suite("BLEU and chrF against sacreBLEU")
struct MetricsFixtureTests {
    @Test func fixtureLoads() throws {
        let fixture = try Fixture.load()
        #expect(fixture.hypotheses.count == fixture.expected.lines)
        #expect(fixture.references.count == fixture.expected.lines)
        #expect(fixture.expected.sacrebleu_version.hasPrefix("2."))
    }

    @Test func tokenizer13aMatchesSacreBLEU() throws {
        let fixture = try Fixture.load()
        let tokenizer = Tokenizer13a()
        for item in fixture.expected.tokenize_13a {
            let stripped = String(String.UnicodeScalarView(PythonText.rstrip(Array(item.text.unicodeScalars))))
            #expect(tokenizer(stripped).unicodeScalars.elementsEqual(item.tokens.unicodeScalars), "13a of \(item.text.debugDescription)")
        }
    }

    @Test func corpusBLEUMatchesSacreBLEU() throws {
        let fixture = try Fixture.load()
        let bleu = try BLEU().corpusScore(hypotheses: fixture.hypotheses, references: fixture.references)
        let expected = fixture.expected.bleu
        expectClose(bleu.score, expected.score, "BLEU")
        #expect(bleu.hypothesisLength == expected.hyp_len)
        #expect(bleu.referenceLength == expected.ref_len)
        #expect(bleu.matches == expected.counts)
        #expect(bleu.totals == expected.totals)
        for (p, q) in zip(bleu.precisions, expected.precisions) { expectClose(p, q, "precision") }
        expectClose(bleu.brevityPenalty, expected.brevity_penalty, atol: 1e-6, "brevity penalty")
        expectClose(bleu.ratio, expected.ratio, atol: 1e-9, "ratio")
        #expect(bleu.formatted == expected.formatted)
    }

    @Test(arguments: ["short", "low_overlap", "no_4gram_match", "no_2gram_match"])
    func smoothingMatchesSacreBLEU(subsetName: String) throws {
        let (hyps, refs, expected) = try Fixture.load().subset(subsetName)
        let methods: [(BLEU.Smoothing, Double)] = [
            (.exp, expected.exp), (.none, expected.none), (.floor(0.1), expected.floor), (.addK(1), expected.addK),
        ]
        for (smoothing, value) in methods {
            let bleu = try BLEU(maxOrder: 4, smoothing: smoothing).corpusScore(hypotheses: hyps, references: refs)
            expectClose(bleu.score, value, "\(subsetName) BLEU with \(smoothing)")
            #expect(bleu.matches == expected.counts)
            #expect(bleu.totals == expected.totals)
        }
        let chrF = try ChrF().corpusScore(hypotheses: hyps, references: refs)
        expectClose(chrF.score, expected.chrf, "\(subsetName) chrF")
    }

    @Test func fullCorpusSmoothingVariantsMatch() throws {
        let fixture = try Fixture.load()
        let expected = fixture.expected.bleu_smoothing
        let cases: [(BLEU.Smoothing, String)] = [(.none, "none"), (.floor(0.1), "floor"), (.addK(1), "add-k")]
        for (smoothing, key) in cases {
            let bleu = try BLEU(maxOrder: 4, smoothing: smoothing)
                .corpusScore(hypotheses: fixture.hypotheses, references: fixture.references)
            expectClose(bleu.score, try #require(expected[key]), "BLEU with \(key)")
        }
    }

    @Test func corpusChrFMatchesSacreBLEU() throws {
        let fixture = try Fixture.load()
        let chrF = try ChrF().corpusScore(hypotheses: fixture.hypotheses, references: fixture.references)
        expectClose(chrF.score, fixture.expected.chrf.score, "chrF2")
        #expect(chrF.formatted == fixture.expected.chrf.formatted)

        let plusPlus = try ChrF(charOrder: 6, wordOrder: 2)
            .corpusScore(hypotheses: fixture.hypotheses, references: fixture.references)
        expectClose(plusPlus.score, fixture.expected.chrf_plus_plus, "chrF2++")
        #expect(plusPlus.name == "chrF2++")

        let eps = try ChrF(charOrder: 6, epsSmoothing: true)
            .corpusScore(hypotheses: fixture.hypotheses, references: fixture.references)
        expectClose(eps.score, fixture.expected.chrf_eps_smoothing, "chrF2 with eps smoothing")
    }

    @Test func sentenceChrFMatchesSacreBLEU() throws {
        let fixture = try Fixture.load()
        #expect(fixture.expected.sentence_chrf.count >= 50)
        let chrF = ChrF()
        for item in fixture.expected.sentence_chrf {
            let score = chrF.sentenceScore(hypothesis: fixture.hypotheses[item.line], reference: fixture.references[item.line])
            expectClose(score.score, item.score, "sentence chrF of line \(item.line)")
        }
    }

    @Test func scoreReportCombinesBoth() throws {
        let fixture = try Fixture.load()
        let report = try ScoreReport(hypotheses: fixture.hypotheses, references: fixture.references)
        expectClose(report.bleu.score, fixture.expected.bleu.score, "BLEU")
        expectClose(report.chrF.score, fixture.expected.chrf.score, "chrF")
        #expect(report.formatted == fixture.expected.bleu.formatted + "\n" + fixture.expected.chrf.formatted)
    }
}

@Suite("BLEU and chrF edge cases")
struct MetricsEdgeCaseTests {
    @Test func emptyCorpusScoresZero() throws {
        let report = try ScoreReport(hypotheses: [], references: [])
        #expect(report.bleu.score == 0)
        #expect(report.bleu.brevityPenalty == 1)
        #expect(report.bleu.ratio == 0)
        #expect(report.bleu.hypothesisLength == 0 && report.bleu.referenceLength == 0)
        #expect(report.chrF.score == 0)
    }

    @Test func allEmptyHypothesesScoreZero() throws {
        let refs = ["Ein kleiner Satz.", "Noch einer hier."]
        let report = try ScoreReport(hypotheses: ["", "   "], references: refs)
        #expect(report.bleu.score == 0)
        #expect(report.bleu.brevityPenalty == 0)
        #expect(report.bleu.hypothesisLength == 0)
        #expect(report.bleu.referenceLength == 8)
        #expect(report.bleu.formatted == "BLEU = 0.00 0.0/0.0/0.0/0.0 (BP = 0.000 ratio = 0.000 hyp_len = 0 ref_len = 8)")
        #expect(report.chrF.score == 0)
        #expect(ChrF().sentenceScore(hypothesis: "", reference: "Satz").score == 0)
    }

    @Test func identicalTextScoresHundred() throws {
        let lines = ["Das ist ein Test, oder nicht?", "Zahlen wie 1.000,50 und 3-4 bleiben."]
        let report = try ScoreReport(hypotheses: lines, references: lines)
        expectClose(report.bleu.score, 100, atol: 1e-9, "BLEU")
        expectClose(report.chrF.score, 100, atol: 1e-9, "chrF")
    }

    @Test func lineCountMismatchThrows() {
        #expect(throws: MetricError.lineCountMismatch(hypotheses: 2, references: 1)) {
            try ScoreReport(hypotheses: ["a", "b"], references: ["a"])
        }
        #expect(throws: MetricError.lineCountMismatch(hypotheses: 0, references: 1)) {
            try ChrF().corpusScore(hypotheses: [], references: ["a"])
        }
        let message = MetricError.lineCountMismatch(hypotheses: 2, references: 1).description
        #expect(message.contains("2 hypothesis lines") && message.contains("1 reference lines"))
    }

    @Test func invalidSettingsThrow() {
        #expect(throws: MetricError.self) { try BLEU(maxOrder: 0) }
        #expect(throws: MetricError.self) { try ChrF(charOrder: 0, wordOrder: 0) }
        #expect(throws: MetricError.self) { try ChrF(charOrder: 6, beta: -1) }
        #expect(throws: MetricError.noReferences) { try ChrF().sentenceScore(hypothesis: "a", references: []) }
    }

    @Test func sentenceChrFPicksBestReference() throws {
        let chrF = ChrF()
        let best = try chrF.sentenceScore(hypothesis: "Der Hund bellt.", references: ["Eine Katze.", "Der Hund bellt."])
        expectClose(best.score, 100, atol: 1e-9, "best reference")
    }

    @Test func codePointsNotGraphemesAreCompared() throws {
        // sacreBLEU compares Python code points, so precomposed and decomposed "é" differ.
        let report = try ScoreReport(hypotheses: ["e\u{301}t\u{e9}"], references: ["\u{e9}t\u{e9}"])
        #expect(report.bleu.matches[0] == 0)
        #expect(report.chrF.score < 100)
    }
}
