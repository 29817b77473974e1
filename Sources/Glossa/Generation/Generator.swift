import Foundation
import GlossaNN
import GlossaTensor

/// Settings of a decoding run, shared by every sampler.
public struct GenerationOptions: Sendable, Equatable {
    /// The most tokens generated per sentence (EOS included).
    public var maxNewTokens: Int
    /// The token that ends a hypothesis.
    public var eosId: Int
    /// The token fed first to the decoder.
    public var startId: Int
    /// Tokens never generated (padding, for Marian models).
    public var forbidden: [Int]
    /// Final scores are Σ log p / length^α (Marian's and transformers' `length_penalty`).
    public var lengthPenalty: Float
    /// How many finished hypotheses to return per sentence (at most the sampler's width).
    public var nBest: Int

    /// Options with the common defaults.
    public init(maxNewTokens: Int = 128, eosId: Int, startId: Int, forbidden: [Int] = [], lengthPenalty: Float = 1, nBest: Int = 1) {
        self.maxNewTokens = maxNewTokens
        self.eosId = eosId
        self.startId = startId
        self.forbidden = forbidden
        self.lengthPenalty = lengthPenalty
        self.nBest = nBest
    }
}

/// A finished output: its tokens (EOS dropped) and its length-normalised score.
public struct GeneratedSequence: Sendable, Equatable {
    /// The generated tokens without EOS.
    public var tokens: [Int]
    /// Σ log p / length^α.
    public var score: Float
}

/// The search loop shared by every sampler: runs the decoder one position at a time with its
/// cache, lets the sampler choose, reorders the cache, and stops when every sentence has finished.
public enum Generator {
    /// Decodes `batchSize` sentences. `memory` (for translators) has one row per sentence;
    /// `prompts` (for language models) are fed after the start token. With a width-1 sampler,
    /// `onToken(sentence, token)` is called for each token as soon as it is chosen (EOS excluded),
    /// so callers can stream; wider searches only know their outputs at the end and never call it.
    public static func generate<S: Sampler>(
        decoder: any Decoder, memory: EncoderMemory?, batchSize: Int, prompts: [[Int]]? = nil,
        sampler: inout S, options: GenerationOptions, onToken: ((_ sentence: Int, _ token: Int) throws -> Void)? = nil
    ) throws -> [[GeneratedSequence]] {
        let state = decoder.makeState()
        let context = ForwardContext()
        var live: [[Hypothesis]] = (0..<batchSize).map { [Hypothesis(prefix: prompts?[$0] ?? [])] }
        var finished: [[GeneratedSequence]] = Array(repeating: [], count: batchSize)
        var rowMemory = memory
        var inputs: [[Int]] = (0..<batchSize).map { [options.startId] + (prompts?[$0] ?? []) }
        let width = sampler.width
        let longestPrompt = inputs.map(\.count).max() ?? 1
        let limit = decoder.maxLength.map { Swift.min(options.maxNewTokens, $0 - longestPrompt) } ?? options.maxNewTokens

        for step in 0..<Swift.max(limit, 0) where !inputs.isEmpty {
            if step == limit - 1 {
                // The last allowed step forces EOS, adding nothing to the score (transformers'
                // `forced_eos_token_id`), so every output ends properly.
                for sentence in 0..<batchSize where !live[sentence].isEmpty {
                    for h in live[sentence] where finished[sentence].count < width {
                        let normalised = h.score / Foundation.pow(Float(h.tokens.count + 1), options.lengthPenalty)
                        finished[sentence].append(GeneratedSequence(tokens: h.tokens, score: normalised))
                    }
                }
                break
            }

            // The first step may feed prompts of several tokens (left-aligned; each row reads the
            // logits at its own last position); later steps feed one token per row.
            let batch = TokenBatch(inputs, padId: options.startId)
            let logits3 = try withoutGrad { try decoder.decode(batch, memory: rowMemory, state: state, context: context) }
            let v = logits3.shape[2]
            let lastPositions = batch.lengths.enumerated().map { $0.offset * batch.length + $0.element - 1 }
            let rawLogits = logits3.reshaped([-1, v]).indexSelect(axis: 0, lastPositions)
            // Forbidden tokens are removed after the log-softmax, not renormalised (as in transformers).
            let logProbabilities = forbid(options.forbidden, in: rawLogits.logSoftmax())
            let logits = forbid(options.forbidden, in: rawLogits)

            var nextRows: [Int] = [], nextInputs: [[Int]] = []
            var nextLive: [[Hypothesis]] = Array(repeating: [], count: batchSize)
            var row = 0
            for sentence in 0..<batchSize where !live[sentence].isEmpty {
                let rows = Array(row..<(row + live[sentence].count))
                row += rows.count
                let proposals = sampler.step(logits: logits.indexSelect(axis: 0, rows), logProbabilities: logProbabilities.indexSelect(axis: 0, rows),
                                             live: live[sentence])
                var kept: [(row: Int, hypothesis: Hypothesis)] = []
                for (rank, c) in proposals.enumerated() {
                    let tokens = live[sentence][c.parent].tokens + [c.token]
                    if c.token == options.eosId {
                        // Only EOS among the best `width` proposals ends a hypothesis (as in transformers).
                        guard rank < width else { continue }
                        let normalised = c.score / Foundation.pow(Float(tokens.count), options.lengthPenalty)
                        finished[sentence].append(GeneratedSequence(tokens: Array(tokens.dropLast()), score: normalised))
                    } else if kept.count < width {
                        kept.append((rows[c.parent], Hypothesis(tokens: tokens, score: c.score, prefix: live[sentence][c.parent].prefix)))
                        if width == 1 { try onToken?(sentence, c.token) }
                    }
                    if kept.count == width { break }
                }
                // Early stopping: a sentence is done once it has `width` finished hypotheses.
                guard finished[sentence].count < width else { continue }
                nextLive[sentence] = kept.map(\.hypothesis)
                nextRows += kept.map(\.row)
                nextInputs += kept.map { [$0.hypothesis.tokens.last ?? options.startId] }
            }
            live = nextLive
            inputs = nextInputs
            // Greedy search mostly keeps every row in place: then there is nothing to reorder.
            if nextRows != Array(0..<row) {
                state.select(rows: nextRows)
                rowMemory = rowMemory?.selecting(rows: nextRows)
            }
        }
        return finished.map { outputs in
            Array(outputs.sorted { $0.score > $1.score }.prefix(Swift.max(1, options.nBest)))
        }
    }

    /// Sets the entries of `tokens` to −∞ on every row.
    static func forbid(_ tokens: [Int], in logits: Tensor) -> Tensor {
        guard !tokens.isEmpty else { return logits }
        let v = logits.shape[1]
        var values = logits.scalars
        for r in 0..<logits.shape[0] { for t in tokens where t >= 0 && t < v { values[r * v + t] = -.infinity } }
        return Tensor(shape: logits.shape, scalars: values)
    }
}
