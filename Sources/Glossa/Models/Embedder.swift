import Foundation
import GlossaNN
import GlossaTensor

/// Sentence embeddings: a tokenizer, an encoder, and a pooler (with optional L2 normalisation), the
/// pipeline of a sentence-transformers model.
public final class Embedder {
    /// The encoder's network.
    public let model: any EncoderModel
    /// Reads the text.
    public let tokenizer: any Tokenizer
    /// Turns hidden states into one vector per text (normalisation is applied after it, when on).
    public var pooler: any Pooler
    /// Whether vectors are scaled to unit length.
    public var normalize: Bool
    /// The longest token sequence given to the encoder, boundary tokens included; longer texts are cut.
    public let maxLength: Int

    /// An embedder from its parts; `maxLength` is capped at the encoder's position limit.
    public init(model: any EncoderModel, tokenizer: any Tokenizer, pooler: any Pooler, normalize: Bool, maxLength: Int = 512) {
        self.model = model
        self.tokenizer = tokenizer
        self.pooler = pooler
        self.normalize = normalize
        self.maxLength = Swift.max(2, Swift.min(maxLength, model.encoder.maxLength ?? maxLength))
    }

    /// The width of the vectors.
    public var dimension: Int {
        let probe = TokenBatch([[tokenizer.specialTokens.pad ?? 0]], padId: tokenizer.specialTokens.pad ?? 0)
        return pooler.pool(Tensor.zeros([1, 1, model.encoder.hiddenSize]), batch: probe).shape[1]
    }

    /// The ids the encoder reads for `text`: beginning token (BERT's `[CLS]`), pieces cut to fit
    /// `maxLength`, end token (`[SEP]`). An empty text gives just the two boundary tokens.
    public func tokenize(_ text: String) throws -> [Int] { frame(try tokenizer.encode(text)) }

    func frame(_ ids: [Int]) -> [Int] {
        let specials = tokenizer.specialTokens
        let head = specials.bos.map { [$0] } ?? [], tail = specials.eos.map { [$0] } ?? []
        let budget = Swift.max(0, maxLength - head.count - tail.count)
        return head + ids.prefix(budget) + tail
    }

    /// One vector per text, in the order given. Texts are sorted by length and batched so that padding
    /// stays small (see `plan(lengths:batchSize:)`); the order is restored at the end.
    public func embed(_ texts: [String], batchSize: Int = 32) throws -> [[Float]] {
        let sequences = try tokenizer.encodeBatch(texts).map(frame)
        return try embed(tokenized: sequences, batchSize: batchSize)
    }

    /// One vector per already-framed id sequence, in the order given.
    public func embed(tokenized sequences: [[Int]], batchSize: Int = 32) throws -> [[Float]] {
        let pad = tokenizer.specialTokens.pad ?? 0
        var vectors = [[Float]](repeating: [], count: sequences.count)
        let context = ForwardContext()
        for rows in Self.plan(lengths: sequences.map(\.count), batchSize: batchSize) {
            let batch = TokenBatch(rows.map { sequences[$0] }, padId: pad)
            let pooled: Tensor = try withoutGrad {
                let states = try model.encoder.encode(batch, context: context)  // [B, T, C]
                let pooled = pooler.pool(states, batch: batch)  // [B, C']
                return normalize ? l2Normalized(pooled) : pooled
            }
            let width = pooled.shape[1]
            for (i, row) in rows.enumerated() { vectors[row] = Array(pooled.scalars[(i * width)..<((i + 1) * width)]) }
        }
        return vectors
    }

    /// Batches of indices into `lengths`: sorted by length, at most `batchSize` each, and a batch is closed early
    /// when the next (longer) sequence would make its padded size exceed 1.25× its real tokens (plus a little
    /// slack), so one long text among short ones gets a batch of its own instead of padding all of them.
    public static func plan(lengths: [Int], batchSize: Int) -> [[Int]] {
        let order = lengths.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
        var batches: [[Int]] = []
        var current: [Int] = []
        var real = 0
        for index in order {
            let n = lengths[index]
            let padded = (current.count + 1) * n
            if !current.isEmpty && (current.count >= Swift.max(1, batchSize) || Double(padded) > 1.25 * Double(real + n) + 64) {
                batches.append(current)
                current = []
                real = 0
            }
            current.append(index)
            real += n
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }
}
