import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaMarian
import GlossaNN

/// Directories in the real OPUS-MT layout made by `scripts/fixtures/make_opus_fixtures.py` with
/// transformers (two SentencePiece models, a shuffled joint `vocab.json` with pad last, a
/// `generation_config.json`), and what `MarianMTModel.generate` gave for them (`expected.json`).
struct OpusFixture {
    struct Expected: Decodable {
        struct Line: Decodable {
            var source: String
            var source_ids: [Int]
            var output_ids: [Int]
            var text: String
            var sequences_score: Float?
        }
        struct Default: Decodable { var cases: [Line] }
        var pad_row_norm: Float
        var greedy: [Line]
        var `default`: Default
    }

    static let names = ["opus-shuffled", "opus-finetuned", "opus-separate"]

    static func directory(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/\(name)").standardizedFileURL
    }

    static func expected(_ name: String) throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory(name).appendingPathComponent("expected.json")))
    }
}

@Suite struct OpusLayoutParityTests {
    @Test(arguments: OpusFixture.names) func sourceIdsMatchMarianTokenizer(name: String) throws {
        let translator = try Translator.load(OpusFixture.directory(name), registry: builtinPlugins)
        for line in try OpusFixture.expected(name).greedy {
            #expect(try translator.sourceTokenizer.encode(line.source) + [translator.model.specialIds.eos] == line.source_ids, "\(line.source)")
        }
    }

    /// Greedy search with the directory's processors (`generate(num_beams=1, max_new_tokens=64)`): ids and text.
    @Test(arguments: OpusFixture.names) func greedyMatchesTransformers(name: String) throws {
        let translator = try Translator.load(OpusFixture.directory(name), registry: builtinPlugins)
        let expected = try OpusFixture.expected(name).greedy
        var search = translator.defaultSearch()
        search.beamSize = 1
        search.maxNewTokens = 64
        let start = translator.model.specialIds.decoderStart
        let ids = try translator.translateIds(expected.map(\.source_ids), search: search, batchSize: 7)
        let texts = try translator.translate(expected.map(\.source), search: search, batchSize: 7)
        for (k, line) in expected.enumerated() {
            // The returned tokens drop EOS; transformers' sequence starts with the start token and ends in EOS
            // unless it reached the limit without one.
            let ours = [start] + ids[k][0].tokens
            #expect(line.output_ids.starts(with: ours) && line.output_ids.count - ours.count <= 1, "greedy ids: \(line.source)")
            #expect(texts[k][0].text == line.text, "greedy text: \(line.source)")
        }
    }

    /// The directory's own generation settings, with nothing passed (beam 4, its early_stopping, penalties).
    @Test(arguments: OpusFixture.names) func defaultGenerationMatchesTransformers(name: String) throws {
        let translator = try Translator.load(OpusFixture.directory(name), registry: builtinPlugins)
        let expected = try OpusFixture.expected(name).default.cases
        let search = translator.defaultSearch()
        #expect(search.beamSize == 4 && search.maxNewTokens == 64 && search.forceEOSAtLimit)
        let start = translator.model.specialIds.decoderStart
        let results = try translator.translateIds(expected.map(\.source_ids), search: search, batchSize: 5)
        let texts = try translator.translate(expected.map(\.source), search: search, batchSize: 5)
        var same = 0
        for (k, line) in expected.enumerated() {
            let ours = [start] + results[k][0].tokens
            if line.output_ids.starts(with: ours) && line.output_ids.count - ours.count <= 1 && texts[k][0].text == line.text { same += 1 }
            if let score = line.sequences_score { #expect(abs(results[k][0].score - score) < 1e-3, "score: \(line.source)") }
        }
        #expect(same == expected.count, "\(name): \(same) of \(expected.count) identical")
    }

    @Test func directorySettingsAreRead() throws {
        let finetuned = try Translator.load(OpusFixture.directory("opus-finetuned"), registry: builtinPlugins).defaultSearch()
        #expect(finetuned.earlyStopping == .whenFull && finetuned.lengthPenalty == 1.2)
        #expect(finetuned.noRepeatNGramSize == 3 && finetuned.repetitionPenalty == 1.1 && finetuned.bannedTokens == [715])
        let shuffled = try Translator.load(OpusFixture.directory("opus-shuffled"), registry: builtinPlugins).defaultSearch()
        #expect(shuffled.earlyStopping == .heuristic && shuffled.lengthPenalty == 1)
        let separate = try Translator.load(OpusFixture.directory("opus-separate"), registry: builtinPlugins).defaultSearch()
        #expect(separate.earlyStopping == .never)
    }

    /// A fine-tuned checkpoint's pad row (the decoder's start token) is used and kept as stored.
    @Test func fineTunedPadRowIsUsedAsStored() throws {
        let translator = try Translator.load(OpusFixture.directory("opus-finetuned"), registry: builtinPlugins)
        let model = try #require(translator.model as? MarianModel)
        #expect(!model.holdsPadRowsAtZero)
        let (pad, width) = (model.configuration.padTokenId, model.configuration.dModel)
        let row = model.shared.scalars[(pad * width)..<((pad + 1) * width)]
        let norm = row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        #expect(abs(norm - (try OpusFixture.expected("opus-finetuned").pad_row_norm)) < 1e-4)
        model.didUpdateParameters()
        #expect(model.shared.scalars[(pad * width)..<((pad + 1) * width)] == row)
    }

    /// `glossa bench decode`'s split: every part of a step is timed, and timing changes nothing.
    @Test func profiledDecodingTimesEveryPart() throws {
        let translator = try Translator.load(OpusFixture.directory("opus-shuffled"), registry: builtinPlugins)
        let sources = try OpusFixture.expected("opus-shuffled").greedy.prefix(12).map(\.source_ids)
        let profile = StepProfile()
        let timed = try translator.translateIds(Array(sources), sampler: GreedySampler(), batchSize: 5, maxNewTokens: 64, profile: profile)
        let plain = try translator.translateIds(Array(sources), sampler: GreedySampler(), batchSize: 5, maxNewTokens: 64)
        #expect(timed == plain)
        #expect(profile.steps > 0)
        for part in StepProfile.Part.allCases { #expect((profile.seconds[part] ?? 0) > 0, "\(part)") }
    }

    @Test func separateVocabulariesHaveTheirOwnTables() throws {
        let translator = try Translator.load(OpusFixture.directory("opus-separate"), registry: builtinPlugins)
        let model = try #require(translator.model as? MarianModel)
        #expect(!model.configuration.shareEncoderDecoderEmbeddings)
        #expect(model.shared !== model.targetEmbedding && model.outputProjection === model.targetEmbedding)
        let names = Set(model.stateDictionary().keys)
        #expect(names.contains("model.encoder.embed_tokens.weight") && names.contains("model.decoder.embed_tokens.weight"))
        #expect(!names.contains("model.shared.weight"))
    }
}
