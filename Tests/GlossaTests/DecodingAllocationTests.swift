import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaNN
import GlossaTensor

/// Decoding in steady state allocates no tensor storage: a step makes the buffer sizes of the step before, and
/// `TensorStorage` hands them back. And greedy and beam search, which find their proposals from the logits without a
/// log-softmax over the vocabulary, give what the general path (log-softmax, then the sampler's `step`) gives.
@Suite struct DecodingAllocationTests {
    static let sources = ["Open the file.", "This function is not available in the current version.", "OK"]

    /// Warm-up steps, then `measured` more with every row kept (an EOS no token has, no forced end); the tensor
    /// storage allocations of the calling thread (tests run side by side) during the measured steps. The caches'
    /// room grows at 16 positions: the steps stay below.
    static func storageAllocations(_ decoding: DecodingBatch, warmUp: Int = 3, measured: Int = 10) throws -> Int {
        // A fresh free list, as a decoding thread of its own has: this thread ran other tests before, whose buffers could
        // fill it to its bound, and evictions to make room then pick sizes arbitrarily (see docs/int8.md).
        TensorStorage.drain()
        for _ in 0..<warmUp { try decoding.step() }
        let before = TensorStorage.allocationsOnThisThread
        for _ in 0..<measured { try decoding.step() }
        #expect(decoding.sequenceCount > 0, "the sequences decoded all the measured steps")
        return TensorStorage.allocationsOnThisThread - before
    }

    static func sampler(beam: Int) -> any Sampler { beam == 1 ? GreedySampler() : BeamSampler(beamSize: beam) }

    @Test(arguments: [(1, ComputeType.float32), (4, .float32), (1, .int8), (4, .int8)])
    func marianStepsAllocateNoTensorStorage(beam: Int, compute: ComputeType) throws {
        let translator = try Translator.load(BatchInvarianceTests.marian, registry: builtinPlugins)
        let model = translator.model
        try model.prepareInference(compute)
        let ids = model.specialIds
        let sources = try Self.sources.map { try translator.sourceParts($0)[0] }
        let rows = TokenBatch(sources, padId: ids.pad)
        let memory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(rows, context: ForwardContext()) }, source: rows)
        let options = GenerationOptions(maxNewTokens: 40, eosId: -1, startId: ids.decoderStart, forbidden: [ids.pad], forceEOSAtLimit: false)
        let decoding = DecodingBatch(decoder: model.decoder)
        let slot = SamplerSlot(Self.sampler(beam: beam))
        try decoding.join(sources.map { _ in DecodingRequest(sampler: slot, options: options) }, memory: memory)
        #expect(try Self.storageAllocations(decoding) == 0)
    }

    @Test(arguments: [1, 4]) func languageModelStepsAllocateNoTensorStorage(beam: Int) throws {
        let language = try LanguageModel.load(BatchInvarianceTests.languageModel, registry: builtinPlugins)
        var options = language.options(maxNewTokens: 40)
        options.eosId = -1
        options.forceEOSAtLimit = false
        let slot = SamplerSlot(Self.sampler(beam: beam))
        let decoding = DecodingBatch(decoder: language.model.decoder)
        let prompts = try ["Open the", "Klicken Sie auf", "a"].map { try language.tokenizer.encode($0) }
        try decoding.join(prompts.map { DecodingRequest(prompt: $0, sampler: slot, options: options) }, memory: nil)
        #expect(try Self.storageAllocations(decoding) == 0)
    }

    /// The searches' own proposals against the general path: a processor that changes nothing (temperature 1) turns
    /// the shortcut off, so both run on the same logits.
    @Test(arguments: [1, 4]) func searchWithoutLogSoftmaxIsBitwiseTheGeneralOne(beam: Int) throws {
        let translator = try Translator.load(BatchInvarianceTests.marian, registry: builtinPlugins)
        let model = translator.model
        let sources = try BatchInvarianceTests.texts.map { try translator.sourceParts($0)[0] }
        let rows = TokenBatch(sources, padId: model.specialIds.pad)
        let memory = EncoderMemory(states: try withoutGrad { try model.encoder.encode(rows, context: ForwardContext()) }, source: rows)
        let options = translator.generationOptions(maxNewTokens: 24, nBest: beam)
        var fast: any Sampler = Self.sampler(beam: beam)
        var general: any Sampler = beam == 1 ? ProcessedSampler(processors: [Temperature(1)], choice: .greedy)
            : BeamSampler(beamSize: beam, processors: [Temperature(1)])
        #expect(fast.topContinuations != nil && general.topContinuations == nil)
        let shortcut = try Generator.generate(decoder: model.decoder, memory: memory, batchSize: sources.count, sampler: &fast, options: options)
        let reference = try Generator.generate(decoder: model.decoder, memory: memory, batchSize: sources.count, sampler: &general, options: options)
        #expect(shortcut == reference)
        #expect(shortcut.allSatisfy { !$0.isEmpty })
    }

    /// The free list itself: a dead tensor's buffer serves the next one of its size; a buffer something else still holds
    /// is never handed out.
    @Test func storageIsReusedOnlyWhenUnshared() {
        let count = 12_345
        do { _ = Tensor.writing([count]) { $0.initialize(repeating: 1) } }
        let before = TensorStorage.allocationsOnThisThread
        let reused = Tensor.writing([count]) { $0.initialize(repeating: 2) }
        #expect(TensorStorage.allocationsOnThisThread == before)
        var held: [Float] = []
        do {
            let shared = Tensor.writing([count + 1]) { $0.initialize(repeating: 3) }
            held = shared.scalars
        }
        let beforeFresh = TensorStorage.allocationsOnThisThread
        let fresh = Tensor.writing([count + 1]) { $0.initialize(repeating: 4) }
        #expect(TensorStorage.allocationsOnThisThread == beforeFresh + 1, "the held buffer was not handed out: a new one was allocated")
        #expect(held.allSatisfy { $0 == 3 } && fresh.scalars.allSatisfy { $0 == 4 } && reused.scalars.allSatisfy { $0 == 2 })
    }
}
