import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// At inference a row's floats do not depend on its batch: not on its place, the batch size or the padding its
/// neighbours bring. What a server's answers rest on: a request gives what the CLI gives for its input alone.
@Suite struct BatchInvarianceTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let marian = fixtures.appendingPathComponent("Fixtures/marian-tiny")
    static let bert = fixtures.appendingPathComponent("Fixtures/bert-tiny")
    static let languageModel = fixtures.deletingLastPathComponent().appendingPathComponent("models/en-de-lm")
    static let texts = ["Open the file.", "This function is not available in the current version.", "OK", "Klicken Sie auf OK, um fortzufahren.",
                        "a", "The dialog closes when you press Escape.", "Save", "Select the files you want to copy and press Enter."]

    /// Row `row` of `[B, …]`.
    static func row(_ x: Tensor, _ row: Int) -> [Float] {
        let width = x.count / x.shape[0]
        return Array(x.scalars[(row * width)..<((row + 1) * width)])
    }

    /// The encoder, then two decoding steps of the Marian decoder with its caches: each sentence alone against the
    /// same sentence at every place of batches of 2…8 sentences of other lengths (so with padding), bit for bit.
    @Test func marianRowsAreBitwiseTheSameAloneAndInAnyBatch() throws {
        let translator = try Translator.load(Self.marian, registry: builtinPlugins)
        let model = translator.model
        let ids = model.specialIds
        let sources = try Self.texts.map { try translator.sourceTokenizer.encode($0) + [ids.eos] }
        func run(_ rows: [[Int]]) throws -> (states: Tensor, logits: [Tensor]) {
            try withoutGrad {
                let batch = TokenBatch(rows, padId: ids.pad)
                let states = try model.encoder.encode(batch, context: ForwardContext())
                let memory = EncoderMemory(states: states, source: batch)
                let state = model.decoder.makeState()
                var logits: [Tensor] = []
                for token in [ids.decoderStart, 5, 17] {
                    let step = TokenBatch(Array(repeating: [token], count: rows.count), padId: ids.pad)
                    logits.append(try model.decoder.decode(step, memory: memory, state: state, context: ForwardContext()))
                }
                return (states, logits)
            }
        }
        for (index, source) in sources.enumerated() {
            let alone = try run([source])
            let length = source.count
            for size in 2...sources.count {
                // The sentence at each end of a batch of `size` sentences taken from the others.
                let others = sources.enumerated().filter { $0.offset != index }.map(\.element)
                for place in [0, size - 1] {
                    var rows = Array(others.prefix(size - 1))
                    rows.insert(source, at: place)
                    let batched = try run(rows)
                    let padded = batched.states.shape[1], width = batched.states.shape[2]
                    let real = Array(Self.row(batched.states, place).prefix(length * width))
                    #expect(real == Self.row(alone.states, 0), "encoder, sentence \(index) at \(place) of \(size) (padded to \(padded))")
                    for (step, logits) in batched.logits.enumerated() {
                        #expect(Self.row(logits, place) == Self.row(alone.logits[step], 0), "decoder step \(step), sentence \(index) at \(place) of \(size)")
                    }
                }
            }
        }
    }

    /// A BERT embedder's vectors: one text alone (as `glossa embed TEXT`) against the same text in one batch with the others.
    @Test func embeddingsAreTheSameAloneAndBatched() throws {
        let embedder = try Embedder.load(Self.bert, registry: builtinPlugins)
        let batched = try embedder.embed(Self.texts, batchSize: Self.texts.count)
        for (index, text) in Self.texts.enumerated() {
            #expect(try embedder.embed([text]).first == batched[index], "text \(index)")
        }
    }

    /// The products themselves: every row of an M-row product (rows 1…40, as OpenBLAS's M-tiles would split them)
    /// equals the row computed alone, with and without a bias, over both operand layouts.
    /// Every element is bias + one FMA per k in order (what makes rows batch-invariant), whichever way B is laid out
    /// and packed (per call, or once as a `PackedMatrix`): K and N off the kernels' 8- and 16-wide blocks, and on them,
    /// and a product large enough to be split over threads.
    @Test(arguments: [(3, 13, 37), (7, 64, 48), (1, 256, 100), (13, 9, 16), (70, 256, 260)])
    func matrixProductsAreFusedMultiplyAddsInOrder(shape: (m: Int, k: Int, n: Int)) {
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.normal([shape.m, shape.k], std: 1, using: &generator)
        let w = Tensor.normal([shape.n, shape.k], std: 0.1, using: &generator)
        let bias = Tensor.normal([shape.n], std: 0.1, using: &generator)
        var expected = [Float](repeating: 0, count: shape.m * shape.n)
        for i in 0..<shape.m {
            for j in 0..<shape.n {
                var c = bias.scalars[j]
                for k in 0..<shape.k { c = c.addingProduct(x.scalars[i * shape.k + k], w.scalars[j * shape.k + k]) }
                expected[i * shape.n + j] = c
            }
        }
        withoutGrad {
            #expect(x.matmul(w, transposeOther: true, bias: bias).scalars == expected)
            #expect(x.matmul(w.transposed(), bias: bias).scalars == expected)
            #expect(PackedMatrix(weight: w, bias: bias).matmul(x).scalars == expected)
            #expect(PackedMatrix(weight: w, bias: nil).matmul(x).scalars == x.matmul(w, transposeOther: true).scalars)
        }
    }

    @Test func matrixProductRowsDoNotDependOnM() {
        var generator = SeededGenerator(seed: 3)
        let (k, n) = (37, 83)
        let x = Tensor.normal([40, k], std: 1, using: &generator)
        let w = Tensor.normal([n, k], std: 0.1, using: &generator)
        let bias = Tensor.normal([n], std: 0.1, using: &generator)
        withoutGrad {
            let alone = (0..<40).map { x.slice(axis: 0, $0..<($0 + 1)) }.map { ($0.matmul(w, transposeOther: true, bias: bias), $0.matmul(w.transposed())) }
            for m in 1...40 {
                let rows = x.slice(axis: 0, 0..<m)
                let withBias = rows.matmul(w, transposeOther: true, bias: bias), plain = rows.matmul(w.transposed())
                for r in 0..<m {
                    #expect(Self.row(withBias, r) == alone[r].0.scalars, "M = \(m), row \(r)")
                    #expect(Self.row(plain, r) == alone[r].1.scalars, "M = \(m), row \(r), B not transposed")
                }
            }
        }
    }
}

/// Sequences that join a running `DecodingBatch` between its steps give exactly what they give decoded alone.
@Suite struct DecodingBatchTests {
    /// Each sentence alone through `Generator` (what `glossa translate` runs), against the sentences joining one
    /// running batch one or two at a time, between steps, while the others decode; greedy and beam search.
    @Test(arguments: [1, 4]) func translationsJoiningMidBatchAreTheSentencesAlone(beamSize: Int) throws {
        let translator = try Translator.load(BatchInvarianceTests.marian, registry: builtinPlugins)
        let model = translator.model
        let options = translator.generationOptions(maxNewTokens: 12)
        let sampler: any Sampler = beamSize > 1 ? BeamSampler(beamSize: beamSize) : GreedySampler()
        let sources = try BatchInvarianceTests.texts.map { try translator.sourceParts($0)[0] }
        func memory(_ rows: [[Int]]) throws -> EncoderMemory {
            let batch = TokenBatch(rows, padId: model.specialIds.pad)
            return EncoderMemory(states: try withoutGrad { try model.encoder.encode(batch, context: ForwardContext()) }, source: batch)
        }
        let alone = try sources.map { source -> [GeneratedSequence] in
            var search = sampler
            return try Generator.generate(decoder: model.decoder, memory: try memory([source]), batchSize: 1, sampler: &search, options: options)[0]
        }
        let batch = DecodingBatch(decoder: model.decoder)
        var outputs: [Int: [GeneratedSequence]] = [:]
        var sentenceOf: [Int: Int] = [:]
        var next = 0, steps = 0, widest = 0
        while next < sources.count || !batch.isEmpty {
            // One sentence joins every step, two every third step, each group with its own encoder pass.
            let joining = Array(next..<Swift.min(sources.count, next + (steps % 3 == 2 ? 2 : 1)))
            if !joining.isEmpty {
                let ids = try batch.join(joining.map { _ in DecodingRequest(sampler: SamplerSlot(sampler), options: options) },
                                         memory: try memory(joining.map { sources[$0] }))
                for (id, sentence) in zip(ids, joining) { sentenceOf[id] = sentence }
                next += joining.count
            }
            widest = Swift.max(widest, batch.sequenceCount)
            try batch.step()
            steps += 1
            for (id, sequences) in batch.takeFinished() { outputs[sentenceOf[id] ?? -1] = sequences }
        }
        #expect(widest > 2, "sentences overlapped in the batch")
        for sentence in sources.indices { #expect(outputs[sentence] == alone[sentence], "sentence \(sentence)") }
    }

    /// Seeded sampling from a language model: each prompt's continuation alone (as `glossa generate --seed`) against
    /// the prompts joining one batch at different steps, each with its own seeded sampler.
    @Test func seededSamplesJoiningMidBatchAreThePromptsAlone() throws {
        let language = try LanguageModel.load(BatchInvarianceTests.languageModel, registry: builtinPlugins)
        let prompts = ["Open the", "Klicken", "The dialog", "a", "Save the file and"]
        let alone = try prompts.enumerated().map { index, prompt -> String in
            var sampler = StochasticSampler(temperature: 0.9, topP: 0.95, seed: UInt64(index))
            return try language.continuation(of: prompt, sampler: &sampler, maxNewTokens: 10).text
        }
        let batch = DecodingBatch(decoder: language.model.decoder)
        var texts: [Int: String] = [:], promptOf: [Int: Int] = [:]
        var next = 0
        while next < prompts.count || !batch.isEmpty {
            if next < prompts.count {
                let slot = SamplerSlot(StochasticSampler(temperature: 0.9, topP: 0.95, seed: UInt64(next)))
                let id = try batch.join([try language.request(for: prompts[next], sampler: slot, maxNewTokens: 10)], memory: nil)[0]
                promptOf[id] = next
                next += 1
            }
            try batch.step()
            for (id, sequences) in batch.takeFinished() { texts[promptOf[id] ?? -1] = try language.text(of: sequences).text }
        }
        for index in prompts.indices { #expect(texts[index] == alone[index], "prompt \(index)") }
    }

    /// A cancelled sequence leaves at the next step and gives nothing; the others are untouched.
    @Test func cancelledSequencesLeaveTheBatch() throws {
        let translator = try Translator.load(BatchInvarianceTests.marian, registry: builtinPlugins)
        let model = translator.model
        let options = translator.generationOptions(maxNewTokens: 12)
        let sources = try BatchInvarianceTests.texts.prefix(3).map { try translator.sourceParts($0)[0] }
        let rows = TokenBatch(Array(sources), padId: model.specialIds.pad)
        let memory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(rows, context: ForwardContext()) }, source: rows)
        var search: any Sampler = BeamSampler(beamSize: 2)
        let expected = try Generator.generate(decoder: model.decoder, memory: memory, batchSize: 3, sampler: &search, options: options)
        let batch = DecodingBatch(decoder: model.decoder)
        let ids = try batch.join((0..<3).map { _ in DecodingRequest(sampler: SamplerSlot(BeamSampler(beamSize: 2)), options: options) }, memory: memory)
        batch.cancel(ids[1])
        var outputs: [Int: [GeneratedSequence]] = [:]
        while !batch.isEmpty {
            try batch.step()
            for (id, sequences) in batch.takeFinished() { outputs[id] = sequences }
        }
        #expect(outputs[ids[1]] == nil)
        #expect(outputs[ids[0]] == expected[0] && outputs[ids[2]] == expected[2])
    }
}
