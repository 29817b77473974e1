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
    /// When a sentence's search ends (transformers' `early_stopping`).
    public var earlyStopping: EarlyStopping
    /// Whether the last allowed step is EOS, adding nothing to the score (transformers'
    /// `forced_eos_token_id`); otherwise outputs that reach the limit end without it.
    public var forceEOSAtLimit: Bool

    /// Options with the common defaults.
    public init(maxNewTokens: Int = 128, eosId: Int, startId: Int, forbidden: [Int] = [], lengthPenalty: Float = 1, nBest: Int = 1,
                earlyStopping: EarlyStopping = .heuristic, forceEOSAtLimit: Bool = true) {
        self.maxNewTokens = maxNewTokens
        self.eosId = eosId
        self.startId = startId
        self.forbidden = forbidden
        self.lengthPenalty = lengthPenalty
        self.nBest = nBest
        self.earlyStopping = earlyStopping
        self.forceEOSAtLimit = forceEOSAtLimit
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
/// cache, lets the sampler choose, reorders the cache, and stops each sentence as transformers'
/// beam search does (per sentence, so a sentence's output does not depend on its batch).
public enum Generator {
    /// Decodes `batchSize` sentences. `memory` (for translators) has one row per sentence;
    /// `prompts` (for language models) are fed after the start token. With a width-1 sampler,
    /// `onToken(sentence, token)` is called for each token as soon as it is chosen (EOS excluded),
    /// so callers can stream; wider searches only know their outputs at the end and never call it.
    /// With a `profile`, the decoder's layers and the search add their time to it.
    public static func generate<S: Sampler>(
        decoder: any Decoder, memory: EncoderMemory?, batchSize: Int, prompts: [[Int]]? = nil,
        sampler: inout S, options: GenerationOptions, profile: StepProfile? = nil,
        onToken: ((_ sentence: Int, _ token: Int) throws -> Void)? = nil
    ) throws -> [[GeneratedSequence]] {
        let state = decoder.makeState()
        let context = ForwardContext()
        context.profile = profile
        var live: [[Hypothesis]] = (0..<batchSize).map { [Hypothesis(prefix: prompts?[$0] ?? [])] }
        var finished = [FinishedHypotheses](repeating: FinishedHypotheses(), count: batchSize)
        var rowMemory = memory
        var inputs: [[Int]] = (0..<batchSize).map { [options.startId] + (prompts?[$0] ?? []) }
        let width = sampler.width
        let longestPrompt = inputs.map(\.count).max() ?? 1
        let limit = decoder.maxLength.map { Swift.min(options.maxNewTokens, $0 - longestPrompt) } ?? options.maxNewTokens

        for step in 0..<Swift.max(limit, 0) where !inputs.isEmpty {
            let atLimit = step == limit - 1
            var proposals: [[Continuation]] = Array(repeating: [], count: batchSize)
            if atLimit && options.forceEOSAtLimit {
                // Forcing EOS leaves it log-probability 0: every live hypothesis ends as it is.
                for sentence in 0..<batchSize {
                    proposals[sentence] = live[sentence].indices.map { Continuation(parent: $0, token: options.eosId, score: live[sentence][$0].score) }
                }
            } else {
                // The first step may feed prompts of several tokens (left-aligned; each row reads the
                // logits at its own last position); later steps feed one token per row.
                let batch = TokenBatch(inputs, padId: options.startId)
                let logits3 = try withoutGrad { try decoder.decode(batch, memory: rowMemory, state: state, context: context) }
                profile?.steps += 1
                let searchStart = DispatchTime.now().uptimeNanoseconds
                defer { profile?.add(.search, since: searchStart) }
                let v = logits3.shape[2]
                let lastPositions = batch.lengths.enumerated().map { $0.offset * batch.length + $0.element - 1 }
                let rawLogits = logits3.reshaped([-1, v]).indexSelect(axis: 0, lastPositions)
                // Forbidden tokens are removed after the log-softmax, not renormalised (as in transformers).
                let logProbabilities = forbid(options.forbidden, in: rawLogits.logSoftmax())
                let logits = sampler.readsLogits ? forbid(options.forbidden, in: rawLogits) : logProbabilities
                let rowCount = logProbabilities.shape[0]
                var row = 0
                for sentence in 0..<batchSize where !live[sentence].isEmpty {
                    let rows = Array(row..<(row + live[sentence].count))
                    row += rows.count
                    func part(_ x: Tensor) -> Tensor { rows.count == rowCount ? x : x.slice(axis: 0, rows[0]..<(rows[0] + rows.count)) }
                    let sentenceLogProbabilities = part(logProbabilities)
                    proposals[sentence] = sampler.step(logits: sampler.readsLogits ? part(logits) : sentenceLogProbabilities,
                                                       logProbabilities: sentenceLogProbabilities, live: live[sentence])
                }
            }

            let bookkeepingStart = DispatchTime.now().uptimeNanoseconds
            defer { profile?.add(.search, since: bookkeepingStart) }
            var nextRows: [Int] = [], nextInputs: [[Int]] = []
            // For each new row, a previous row of the same sentence: they share one source, so what
            // depends only on it (cross-attention caches, the encoder memory) moves only with sentences.
            var memoryRows: [Int] = []
            var nextLive: [[Hypothesis]] = Array(repeating: [], count: batchSize)
            var row = 0
            for sentence in 0..<batchSize where !live[sentence].isEmpty {
                let rows = Array(row..<(row + live[sentence].count))
                row += rows.count
                var kept: [(row: Int, hypothesis: Hypothesis)] = []
                var ending: [GeneratedSequence] = []
                var allEnd = true
                for (rank, c) in proposals[sentence].enumerated() {
                    let parent = live[sentence][c.parent]
                    // A proposal ends its hypothesis on EOS or at the length limit; only the best
                    // `width` proposals may finish (as in transformers).
                    if c.token == options.eosId || atLimit {
                        let tokens = c.token == options.eosId ? parent.tokens : parent.tokens + [c.token]
                        if rank < width {
                            ending.append(GeneratedSequence(tokens: tokens, score: c.score / Foundation.pow(Float(parent.tokens.count + 1), options.lengthPenalty)))
                        }
                        continue
                    }
                    allEnd = false
                    if kept.count < width {
                        kept.append((rows[c.parent], Hypothesis(tokens: parent.tokens + [c.token], score: c.score, prefix: parent.prefix)))
                        if width == 1 { try onToken?(sentence, c.token) }
                    }
                    if kept.count == width { break }
                }
                let searching = finished[sentence].update(
                    adding: ending, bestLive: kept.first?.hypothesis.score, width: width, earlyStopping: options.earlyStopping,
                    lengthPenalty: options.lengthPenalty, length: options.earlyStopping == .never && options.lengthPenalty > 0 ? options.maxNewTokens : step + 1)
                guard searching && !allEnd && !kept.isEmpty else { continue }
                nextLive[sentence] = kept.map(\.hypothesis)
                nextRows += kept.map(\.row)
                memoryRows += kept.indices.map { rows[Swift.min($0, rows.count - 1)] }
                nextInputs += kept.map { [$0.hypothesis.tokens.last ?? options.startId] }
            }
            live = nextLive
            inputs = nextInputs
            // Greedy search mostly keeps every row in place, and beam search keeps each sentence's rows:
            // then there is nothing to reorder.
            let unchanged = Array(0..<row)
            if !inputs.isEmpty && (nextRows != unchanged || memoryRows != unchanged) {
                state.select(rows: nextRows, memoryRows: memoryRows)
                if memoryRows != unchanged { rowMemory = rowMemory?.selecting(rows: memoryRows) }
            }
        }
        return finished.map { Array($0.best.prefix(Swift.max(1, options.nBest))) }
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

/// A sentence's finished hypotheses, the best `width` kept, and whether the live ones may still
/// improve them: transformers' `_update_finished_beams` and `_check_early_stop_heuristic` for one sentence.
struct FinishedHypotheses {
    /// Best first.
    private(set) var best: [GeneratedSequence] = []
    /// Cleared for good once the best live hypothesis, normalised by `length`, cannot beat the worst finished one.
    private var improvable = true

    /// Adds `ending` where allowed, then judges the live hypotheses; returns whether the search goes on.
    mutating func update(adding ending: [GeneratedSequence], bestLive: Float?, width: Int, earlyStopping: EarlyStopping,
                         lengthPenalty: Float, length: Int) -> Bool {
        let full = best.count >= width
        if improvable && !(earlyStopping == .whenFull && full) && !ending.isEmpty {
            // Stable: among equal scores, earlier finishers stay ahead.
            best = Array((best + ending).enumerated().sorted { $0.element.score > $1.element.score || ($0.element.score == $1.element.score && $0.offset < $1.offset) }
                .map(\.element).prefix(width))
        }
        if best.count >= width, let worst = best.last?.score {
            let possible = (bestLive ?? -.infinity) / Foundation.pow(Float(Swift.max(length, 1)), lengthPenalty)
            if !(possible > worst) { improvable = false }
        }
        return improvable && !(earlyStopping == .whenFull && best.count >= width)
    }
}
