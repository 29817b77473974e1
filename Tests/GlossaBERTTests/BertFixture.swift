import Foundation
import Glossa

/// The tiny random BERT sentence-transformers directory made by `scripts/fixtures/make_bert_fixture.py`,
/// and what transformers and sentence-transformers computed with it (`expected.json`).
enum BertFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/bert-tiny").standardizedFileURL

    struct Expected: Decodable {
        struct Case: Decodable {
            var text: String
            var tokens: [String]
            var ids: [Int]
            var truncated: Bool
            var last_hidden_state: [[Float]]?
            var mean_pooled: [Float]
            var embedding: [Float]
        }
        var cases: [Case]
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    }
}
