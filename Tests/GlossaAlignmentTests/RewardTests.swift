import Foundation
import Glossa
import GlossaTestSupport
import Testing

/// The built-in rewards and the arithmetic task's generator.
@Suite struct RewardTests {
    @Test func arithmeticRewardNeedsTheRightAnswerInTheTag() {
        let reward = ArithmeticReward(formatWeight: 0.5)
        #expect(reward.score(output: "<answer>95</answer>", reference: "95") == RewardScore(value: 1.5, components: ["accuracy": 1, "format": 1]))
        #expect(reward.score(output: "<answer>94</answer>", reference: "95").value == 0.5)
        #expect(reward.score(output: "95", reference: "95").value == 0)
        #expect(reward.score(output: "so <answer> 95 </answer> there", reference: "95") == RewardScore(value: 1, components: ["accuracy": 1, "format": 0]))
        #expect(reward.score(output: "<answer></answer>", reference: "95").value == 0)
        #expect(reward.score(output: "<answer>-3</answer>", reference: "-3").value == 1.5)
        #expect(ArithmeticReward.taggedAnswer(in: "<answer>12") == nil)
    }

    @Test func chrFRewardIsSentenceChrFOverAHundred() {
        let reward = ChrFReward()
        #expect(reward.score(output: "Öffnen Sie die Datei.", reference: "Öffnen Sie die Datei.").value == 1)
        let partial = reward.score(output: "Öffnen Sie das Fenster.", reference: "Öffnen Sie die Datei.")
        let expected = ChrF().sentenceScore(hypothesis: "Öffnen Sie das Fenster.", reference: "Öffnen Sie die Datei.").score / 100
        #expect(partial.value == expected && partial.value > 0 && partial.value < 1)
        let summary = reward.summary(outputs: ["a b c", "Öffnen Sie die Datei."], references: ["x y z", "Öffnen Sie die Datei."])
        #expect(abs((summary["reward"] ?? 0) - 0.5) < 1e-9)
    }

    @Test func arithmeticProblemsAreSeededAndHeldOutNeverMeetsTraining() throws {
        let task = try ArithmeticTask(maxOperand: 99)
        let train = task.problems(count: 500, seed: 1), again = task.problems(count: 500, seed: 1)
        #expect(train == again && train != task.problems(count: 500, seed: 2))
        let heldOut = task.problems(count: 200, seed: 1, heldOut: true)
        #expect(Set(train.map(\.prompt)).isDisjoint(with: Set(heldOut.map(\.prompt))))
        #expect(ArithmeticTask.problem(37, "+", 58) == ArithmeticTask.Problem(prompt: "What is 37 + 58?", answer: "95"))
        for p in train.prefix(20) {
            let parts = p.prompt.dropFirst(8).dropLast().split(separator: " ")
            #expect((Int(parts[0]) ?? 0) + (Int(parts[2]) ?? 0) == Int(p.answer))
        }
        #expect(throws: GlossaError.self) { try ArithmeticTask(maxOperand: 0) }
    }

    @Test func jsonLinesRoundTripAndNameTheBadLine() throws {
        let pairs = [PreferencePair(prompt: "Translate to German: Hi", chosen: "Hallo", rejected: "Hi"),
                     PreferencePair(prompt: "p/q", chosen: "ä", rejected: "b")]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("align-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: url) }
        try JSONLines.encode(pairs).write(to: url)
        #expect(try JSONLines.read(PreferencePair.self, from: url.path) == pairs)
        try Data("{\"prompt\": \"a\", \"response\": \"b\"}\n\n{\"prompt\": \"a\"}\n".utf8).write(to: url)
        #expect(throws: GlossaError.invalidInput("\(url.path):3: missing field \"response\"")) {
            try JSONLines.read(PromptResponse.self, from: url.path)
        }
    }

    @Test func translationExamplesUseThePromptTemplate() throws {
        let examples = try TranslationPrompt.examples(sources: ["Open the file.", ""], targets: ["Öffnen Sie die Datei.", "x"])
        #expect(examples == [PromptResponse(prompt: "Translate to German: Open the file.", response: "Öffnen Sie die Datei.")])
    }
}
