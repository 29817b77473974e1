import Foundation
import Glossa
import GlossaTestSupport
import Testing

/// `PreferenceMining`: the pairs `glossa align dpo-data` writes, called from Swift.
@Suite struct PreferenceMiningTests {
    let reference = "the cat sat on the mat"

    @Test func theBestAndTheWorstSampleMakeThePair() throws {
        let samples = ["a dog", "the cat sat on the mat", "the cat sat", "zzzzzzzzzzzzzzzzzzzzzzzzzz"]
        let pair = try #require(PreferenceMining().pair(prompt: "p", samples: samples, reference: reference, position: 0))
        #expect(pair == PreferencePair(prompt: "p", chosen: "the cat sat on the mat", rejected: "zzzzzzzzzzzzzzzzzzzzzzzzzz"))
    }

    @Test func lengthRulesNarrowWhatMayBeRejected() throws {
        let samples = ["the cat sat on the mat", "the cat sat on a hat", "dog", "the cat"]
        // Within 10% of 22 characters only "the cat sat on a hat" (20) is eligible.
        let near = PreferenceMining(lengthTolerance: 0.1)
        #expect(near.pair(prompt: "p", samples: samples, reference: reference, position: 0)?.rejected == "the cat sat on a hat")
        // Balanced: an even position needs a rejected sample at least as long as the chosen one, which there is not.
        let balanced = PreferenceMining(balanceLengths: true)
        #expect(balanced.pair(prompt: "p", samples: samples, reference: reference, position: 0) == nil)
        #expect(balanced.pair(prompt: "p", samples: samples, reference: reference, position: 1)?.rejected == "dog")
    }

    @Test func noPairWithoutADifference() throws {
        let mining = PreferenceMining()
        #expect(mining.pair(prompt: "p", samples: [], reference: reference, position: 0) == nil)
        #expect(mining.pair(prompt: "p", samples: ["same", "same"], reference: reference, position: 0) == nil)
        let pairs = try mining.pairs(prompts: ["p", "q"], samples: [["same", "same"], ["the cat sat", "x"]], references: [reference, reference])
        #expect(pairs == [PreferencePair(prompt: "q", chosen: "the cat sat", rejected: "x")])
        #expect(throws: GlossaError.self) { try mining.pairs(prompts: ["p"], samples: [], references: [reference]) }
    }

    @Test func miningAModelIsSeededAndOrdered() throws {
        let lm = LanguageModel(model: try tinyModel(seed: 4), tokenizer: LetterTokenizer())
        let prompts = ["abc", "de", "fgh", "ab"], references = ["abcabc", "dede", "fghfgh", "abab"]
        let mining = PreferenceMining()
        let first = try mining.mine(lm, prompts: prompts, references: references, samplesPerPrompt: 4, temperature: 1.5, seed: 9, maxNewTokens: 6)
        let again = try mining.mine(lm, prompts: prompts, references: references, samplesPerPrompt: 4, temperature: 1.5, seed: 9, maxNewTokens: 6)
        #expect(first == again && !first.isEmpty)
        let chrF = ChrF()
        for pair in first {
            let i = try #require(prompts.firstIndex(of: pair.prompt))
            #expect(chrF.sentenceScore(hypothesis: pair.chosen, reference: references[i]).score
                    > chrF.sentenceScore(hypothesis: pair.rejected, reference: references[i]).score)
        }
        #expect(first.map(\.prompt) == prompts.filter { p in first.contains { $0.prompt == p } }, "pairs keep prompt order")
        #expect(throws: GlossaError.self) { try mining.mine(lm, prompts: prompts, references: references, samplesPerPrompt: 1) }
    }
}
