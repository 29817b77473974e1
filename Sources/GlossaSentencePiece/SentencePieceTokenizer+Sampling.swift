import CSentencePiece

/// Settings for subword regularisation (Kudo 2018, arXiv:1804.10959; BPE-dropout, arXiv:1910.13267).
public struct SubwordSampling: Sendable, Equatable, Hashable {
    /// Unigram: sample from the `nbest` best segmentations; a negative value samples from the whole lattice,
    /// 0 or 1 gives the best segmentation. Ignored by BPE models.
    public var nbest: Int
    /// Unigram: inverse temperature (larger keeps closer to the best segmentation); BPE: merge-dropout probability.
    public var alpha: Float

    /// Makes sampling settings.
    public init(nbest: Int, alpha: Float) {
        self.nbest = nbest
        self.alpha = alpha
    }

    func validated() throws -> (Int32, Float) {
        guard alpha.isFinite, alpha >= 0 else {
            throw TokenizerError.invalidOption(name: "sampling alpha", reason: "must be a finite number >= 0, got \(alpha)")
        }
        guard let nbest = Int32(exactly: nbest) else {
            throw TokenizerError.invalidOption(name: "sampling nbest", reason: "\(nbest) does not fit in 32 bits")
        }
        return (nbest, alpha)
    }
}

extension SentencePieceTokenizer {
    /// One sampled segmentation of a line as ids; the same text, settings and seed always give the same ids.
    public func encode(_ text: String, sampling: SubwordSampling, seed: UInt64) throws -> [Int] {
        let (nbest, alpha) = try sampling.validated()
        let buffer = try IDBuffer()
        try sample(text, nbest: nbest, alpha: alpha, seed: seed, into: buffer)
        return buffer.ids
    }

    /// One sampled segmentation of a line as pieces, aligned with `encode(_:sampling:seed:)` for the same seed.
    public func pieces(_ text: String, sampling: SubwordSampling, seed: UInt64) throws -> [String] {
        let (nbest, alpha) = try sampling.validated()
        let buffer = try PieceBuffer()
        let status = text.withUTF8Bytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                csp_sample_encode_pieces(handle, $0.baseAddress, $0.count, nbest, alpha, Self.mix(seed), buffer.raw)
            }
        }
        guard status == CSP_OK else { throw TokenizerError.encodingFailed(reason: lastShimError()) }
        return buffer.pieces
    }

    /// Samples every line on all cores; line `i` uses a seed derived from `seed` and `i`, so the result does
    /// not depend on how the work was split between cores.
    public func encodeBatch(_ texts: [String], sampling: SubwordSampling, seed: UInt64) throws -> [[Int]] {
        let (nbest, alpha) = try sampling.validated()
        return try Self.parallelMap(count: texts.count) { range in
            let buffer = try IDBuffer()
            return try range.map { index in
                try sample(texts[index], nbest: nbest, alpha: alpha, seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15, into: buffer)
                return buffer.ids
            }
        }
    }

    func sample(_ text: String, nbest: Int32, alpha: Float, seed: UInt64, into buffer: IDBuffer) throws {
        let status = text.withUTF8Bytes { bytes in
            bytes.withMemoryRebound(to: CChar.self) {
                csp_sample_encode_ids(handle, $0.baseAddress, $0.count, nbest, alpha, Self.mix(seed), buffer.raw)
            }
        }
        guard status == CSP_OK else { throw TokenizerError.encodingFailed(reason: lastShimError()) }
    }

    /// Folds a 64-bit seed into the 32 bits libsentencepiece's mt19937 takes (SplitMix64's finaliser), so
    /// nearby seeds such as epoch numbers still give unrelated streams.
    static func mix(_ seed: UInt64) -> UInt32 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return UInt32(truncatingIfNeeded: z >> 32)
    }
}
