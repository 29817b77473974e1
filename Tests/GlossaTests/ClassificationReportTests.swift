import Foundation
import Testing
import Glossa

/// Labelled files, the classification scores and the confusion-matrix SVG.
@Suite struct ClassificationReportTests {
    /// scikit-learn's numbers for the same labels: accuracy 5/7, per-class F1 0.5, 0.8, 0.8, macro-F1 0.7.
    @Test func scoresMatchTheTextbookDefinitions() {
        let report = ClassificationReport(labels: ["a", "b", "c"], truth: [0, 0, 1, 1, 2, 2, 2], predicted: [0, 1, 1, 1, 2, 0, 2])
        #expect(report.count == 7 && abs(report.accuracy - 5.0 / 7) < 1e-12)
        #expect(abs(report.macroF1 - 0.7) < 1e-12)
        #expect(report.classes.map(\.support) == [2, 2, 3])
        #expect(abs(report.classes[1].precision - 2.0 / 3) < 1e-12 && report.classes[1].recall == 1)
        #expect(report.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 2]])
        #expect(report.markdown.contains("| b | 0.6667 | 1.0000 | 0.8000 | 2 |"))
    }

    /// A label never seen nor predicted does not count towards macro-F1; one predicted but never true does, with F1 0.
    @Test func macroF1OverLabelsPresent() {
        let absent = ClassificationReport(labels: ["a", "b", "c"], truth: [0, 1], predicted: [0, 1])
        #expect(absent.macroF1 == 1)
        let spurious = ClassificationReport(labels: ["a", "b", "c"], truth: [0, 0], predicted: [0, 2])
        #expect(abs(spurious.macroF1 - (2.0 / 3) / 2) < 1e-12)
    }

    @Test func confusionSVGHasACellPerPair() {
        let report = ClassificationReport(labels: ["x<y", "b"], truth: [0, 1, 1], predicted: [0, 0, 1])
        let svg = report.confusionSVG(title: "dev & test")
        #expect(svg.hasPrefix("<svg") && svg.hasSuffix("</svg>\n"))
        #expect(svg.components(separatedBy: "<rect x=").count - 1 == 4)
        #expect(svg.contains("x&lt;y") && svg.contains("dev &amp; test") && !svg.contains("x<y"))
    }

    func write(_ text: String, _ ext: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-labels-\(UUID().uuidString).\(ext)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test func readsTSVAndJSONLines() throws {
        let tsv = try write("de\tDas Haus\tist klein\n\nen\tThe house\r\n", "tsv")
        #expect(try LabeledText.read(tsv) == [LabeledText(text: "Das Haus\tist klein", label: "de"), LabeledText(text: "The house", label: "en")])
        let jsonl = try write("{\"text\": \"a\", \"label\": \"x\"}\n{\"text\": \"b\", \"label\": 3}\n", "jsonl")
        #expect(try LabeledText.read(jsonl) == [LabeledText(text: "a", label: "x"), LabeledText(text: "b", label: "3")])
        #expect(LabeledText.labels(of: try LabeledText.read(tsv)) == ["de", "en"])
    }

    @Test func badLinesNameTheFileAndLine() throws {
        for (text, ext, fragment) in [("de\tok\nno tab here\n", "tsv", ":2: expected label<TAB>text"), ("\tempty label\n", "tsv", "label before the tab is empty"),
                                      ("{\"text\": \"a\"}\n", "jsonl", ":1: \"label\""), ("[1]\n", "jsonl", "not a JSON object"),
                                      ("{\"text\": \"a\", \"label\": true}\n", "jsonl", "\"label\"")] {
            let path = try write(text, ext)
            #expect {
                try LabeledText.read(path)
            } throws: { error in
                "\(error)".contains(fragment)
            }
        }
    }
}
