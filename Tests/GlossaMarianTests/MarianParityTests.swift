import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaMarian
import GlossaNN
import GlossaTensor
import GlossaTestSupport

/// A tiny random Marian model made by `scripts/fixtures/make_marian_fixture.py` with transformers,
/// and what transformers computed with it (`expected.json`).
struct MarianFixture {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/marian-tiny").standardizedFileURL

    struct Expected: Decodable {
        struct Case: Decodable {
            struct TeacherForced: Decodable {
                var target_ids: [Int]
                var decoder_input_ids: [Int]
                var logits: [[Float]]
            }
            struct Greedy: Decodable { var ids: [Int] }
            struct Beam: Decodable { var ids: [[Int]]; var sequences_scores: [Float] }
            var source: String
            var source_ids: [Int]
            var teacher_forced: TeacherForced?
            var greedy: Greedy
            var beam4: Beam
        }
        struct EncoderOutput: Decodable { var source_ids: [Int]; var last_hidden_state: [[Float]] }
        struct BatchedGreedy: Decodable { var sources: [String]; var ids: [[Int]]? }
        var cases: [Case]
        var encoder_output: EncoderOutput
    }

    static func expected() throws -> Expected {
        try JSONDecoder().decode(Expected.self, from: Data(contentsOf: directory.appendingPathComponent("expected.json")))
    }

    static func translator() throws -> Translator { try Translator.load(directory, registry: builtinPlugins) }
}

@Suite struct MarianParityTests {
    @Test func sourceIdsMatchMarianTokenizer() throws {
        let translator = try MarianFixture.translator()
        for c in try MarianFixture.expected().cases {
            #expect(try translator.sourceTokenizer.encode(c.source) + [0] == c.source_ids, "\(c.source)")
        }
    }

    @Test func encoderStatesMatch() throws {
        let translator = try MarianFixture.translator()
        let e = try MarianFixture.expected().encoder_output
        let batch = TokenBatch([e.source_ids], padId: 249)
        let states = try withoutGrad { try translator.model.encoder.encode(batch, context: ForwardContext()) }
        assertClose(states.scalars, e.last_hidden_state.flatMap { $0 }, rtol: 1e-4, atol: 1e-4)
    }

    @Test func teacherForcedLogitsMatch() throws {
        let translator = try MarianFixture.translator()
        for c in try MarianFixture.expected().cases {
            guard let tf = c.teacher_forced else { continue }
            let source = TokenBatch([c.source_ids], padId: 249)
            let logits = try withoutGrad {
                let memory = EncoderMemory(states: try translator.model.encoder.encode(source, context: ForwardContext()), source: source)
                return try translator.model.decoder.decode(TokenBatch([tf.decoder_input_ids], padId: 249), memory: memory, state: nil,
                                                           context: ForwardContext())
            }
            let rows = tf.logits.count
            assertClose(Array(logits.scalars.prefix(rows * 250)), tf.logits.flatMap { $0 }, rtol: 1e-4, atol: 1e-4, c.source)
        }
    }

    @Test func greedyAndBeamOutputsMatch() throws {
        let translator = try MarianFixture.translator()
        for c in try MarianFixture.expected().cases {
            let greedy = try translator.translateIds([c.source_ids], sampler: GreedySampler(), maxNewTokens: 20)
            #expect([249] + greedy[0][0].tokens + [0] == c.greedy.ids, "greedy: \(c.source)")
            let beam = try translator.translateIds([c.source_ids], sampler: BeamSampler(beamSize: 4), maxNewTokens: 20, nBest: 4,
                                                  earlyStopping: .whenFull)
            #expect(beam[0].map { [249] + $0.tokens + [0] } == c.beam4.ids, "beam: \(c.source)")
            assertClose(beam[0].map(\.score), c.beam4.sequences_scores, rtol: 1e-4, atol: 1e-4, "beam scores: \(c.source)")
        }
    }

    @Test func batchedOutputDoesNotDependOnTheBatch() throws {
        let translator = try MarianFixture.translator()
        let sources = try MarianFixture.expected().cases.map(\.source)
        let alone = try sources.map { try translator.translate([$0], sampler: BeamSampler(beamSize: 3), maxNewTokens: 20)[0][0].text }
        let together = try translator.translate(sources, sampler: BeamSampler(beamSize: 3), batchSize: 4, maxNewTokens: 20).map { $0[0].text }
        #expect(alone == together)
    }

    @Test func emptyAndOverlongInputs() throws {
        let translator = try MarianFixture.translator()
        let long = Array(repeating: "Click OK to save the changes.", count: 30).joined(separator: " ")  // > 64 positions
        let out = try translator.translate(["", long, "Hello world."], sampler: GreedySampler(), maxNewTokens: 10)
        #expect(out.count == 3)
        #expect(out[0][0].text == "")
        #expect(!out[1][0].text.isEmpty)
    }

    @Test func savedDirectoryReloadsWithTheSameWeights() throws {
        let translator = try MarianFixture.translator()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-marian-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelDirectory.save(translator.model, to: dir)
        for file in ["source.spm", "target.spm", "vocab.json"] {
            try FileManager.default.copyItem(at: MarianFixture.directory.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        let reloaded = try Translator.load(dir, registry: builtinPlugins)
        for (a, b) in zip(translator.model.namedParameters(), reloaded.model.namedParameters()) {
            #expect(a.name == b.name && a.tensor.scalars == b.tensor.scalars)
        }
        let keys = try Safetensors.read(contentsOf: dir.appendingPathComponent("model.safetensors")).names
        #expect(keys.contains("model.shared.weight") && keys.contains("final_logits_bias"))
    }

    @Test func corruptConfigurationsGiveClearErrors() throws {
        func load(_ edit: (inout [String: Any]) -> Void) throws -> Translator {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-bad-\(UInt64.random(in: 0...UInt64.max))")
            defer { try? FileManager.default.removeItem(at: dir) }
            try FileManager.default.copyItem(at: MarianFixture.directory, to: dir)
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as! [String: Any]
            edit(&config)
            try JSONSerialization.data(withJSONObject: config).write(to: dir.appendingPathComponent("config.json"))
            return try Translator.load(dir, registry: builtinPlugins)
        }
        #expect(throws: GlossaError.invalidConfiguration("d_model 30 must be divisible by encoder_attention_heads 4")) {
            try load { $0["d_model"] = 30 }
        }
        #expect(throws: ModuleError.self) { try load { $0["decoder_ffn_dim"] = 65 } }
        #expect(throws: GlossaError.self) { try load { $0["d_model"] = "wide" } }
        #expect(throws: ModuleError.self) { try load { $0["vocab_size"] = 200; $0["pad_token_id"] = 199; $0["decoder_start_token_id"] = 199 } }
        #expect(throws: GlossaError.unknownPlugin("transformer-xl", known: builtinPlugins.plugins.map(\.name))) {
            try load { $0["model_type"] = "transformer-xl" }
        }
    }
}
