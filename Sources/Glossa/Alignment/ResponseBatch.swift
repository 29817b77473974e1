import GlossaNN
import GlossaTensor

/// Prompts and responses laid out for teacher forcing: the decoder reads start + prompt + response
/// and is scored only where it predicts a response token (or the closing EOS), never on the prompt.
///
///     input    <s>  p1  p2  r1  r2
///     target    ·   ·   r1  r2  </s>      (· = masked)
public struct ResponseBatch: Sendable {
    /// `[B, T]` decoder input, right-padded.
    public let input: TokenBatch
    /// `[B × T]` the token each position predicts; `ResponseBatch.ignored` at prompt and padding positions.
    public let targets: [Int]
    /// The number of scored positions of each row (response tokens plus EOS when it is appended).
    public let scoredLengths: [Int]

    /// The target value of an unscored position.
    public static let ignored = -100

    /// Lays out `prompts[i]` followed by `responses[i]`; each response is closed by EOS unless
    /// `closed[i]` is false (a sample cut off at the length limit never chose EOS).
    public init(prompts: [[Int]], responses: [[Int]], ids: SequenceSpecialIds, closed: [Bool]? = nil) throws {
        guard prompts.count == responses.count else {
            throw GlossaError.invalidInput("\(prompts.count) prompts but \(responses.count) responses")
        }
        var inputs: [[Int]] = [], labels: [[Int]] = [], scored: [Int] = []
        for i in prompts.indices {
            let response = responses[i] + ((closed?[i] ?? true) ? [ids.eos] : [])
            guard !response.isEmpty else {
                throw GlossaError.invalidInput("example \(i) has an empty response and no EOS: nothing to score")
            }
            inputs.append([ids.decoderStart] + prompts[i] + response.dropLast())
            labels.append([Int](repeating: Self.ignored, count: prompts[i].count) + response)
            scored.append(response.count)
        }
        input = TokenBatch(inputs, padId: ids.pad)
        targets = TokenBatch(labels, padId: Self.ignored).ids
        scoredLengths = scored
    }

    /// `[B, T]` with 1 at scored positions and 0 elsewhere.
    public var scoredMask: Tensor {
        Tensor(shape: input.shape, scalars: targets.map { $0 == Self.ignored ? 0 : 1 })
    }

    /// The number of scored positions in all.
    public var scoredCount: Int { scoredLengths.reduce(0, +) }

    /// `[B, T, V]` logits from the decoder, reading the whole batch at once (causal masking inside).
    public func logits(_ decoder: any Decoder, context: ForwardContext) throws -> Tensor {
        try decoder.decode(input, memory: nil, state: nil, context: context)
    }
}

/// Log-probabilities of given tokens under a decoder's logits.
public enum SequenceScoring {
    /// `[B, T, V]` logits → `[B, T]` log p(target) at each position; 0 where the target is ignored.
    public static func tokenLogProbabilities(logits: Tensor, targets: [Int]) -> Tensor {
        let (b, t, v) = (logits.shape[0], logits.shape[1], logits.shape[2])
        // The fused cross-entropy is −log p(target) with one backward rule, and 0 on ignored rows.
        let nll = logits.reshaped([b * t, v]).crossEntropyRows(targets: targets, ignoreIndex: ResponseBatch.ignored)  // [B·T]
        return -nll.reshaped([b, t])  // [B, T]
    }

    /// `[B, T, V]` logits → `[B]` Σ log p over each row's scored positions (log π(y | x)).
    public static func sequenceLogProbabilities(logits: Tensor, targets: [Int]) -> Tensor {
        tokenLogProbabilities(logits: logits, targets: targets).sum(axis: 1)  // [B]
    }

    /// `[B, T]` per-token log-probabilities of a batch's scored tokens under `decoder`.
    public static func tokenLogProbabilities(_ decoder: any Decoder, batch: ResponseBatch, context: ForwardContext) throws -> Tensor {
        tokenLogProbabilities(logits: try batch.logits(decoder, context: context), targets: batch.targets)
    }

    /// `[B]` log π(response | prompt) of a batch under `decoder`.
    public static func sequenceLogProbabilities(_ decoder: any Decoder, batch: ResponseBatch, context: ForwardContext) throws -> Tensor {
        sequenceLogProbabilities(logits: try batch.logits(decoder, context: context), targets: batch.targets)
    }
}
