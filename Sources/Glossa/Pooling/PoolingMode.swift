/// The pooling strategies Glossa offers, by the names sentence-transformers uses for them.
public enum PoolingMode: String, CaseIterable, Sendable, Codable {
    /// Mean of the real tokens.
    case mean
    /// Element-wise maximum over the real tokens.
    case max
    /// The first token (`[CLS]`).
    case cls
    /// The last real token.
    case lastToken = "lasttoken"
    /// Mean weighted by position 1…T.
    case weightedMean = "weightedmean"
    /// Sum of the real tokens divided by √length.
    case meanSqrtLength = "mean_sqrt_len_tokens"

    /// The pooler for this mode.
    public var pooler: any Pooler {
        switch self {
        case .mean: return MeanPooler()
        case .max: return MaxPooler()
        case .cls: return FirstTokenPooler()
        case .lastToken: return LastTokenPooler()
        case .weightedMean: return WeightedMeanPooler()
        case .meanSqrtLength: return MeanSqrtLengthPooler()
        }
    }

    /// The `1_Pooling/config.json` flag that turns this mode on.
    public var sentenceTransformersFlag: String {
        switch self {
        case .mean: return "pooling_mode_mean_tokens"
        case .max: return "pooling_mode_max_tokens"
        case .cls: return "pooling_mode_cls_token"
        case .lastToken: return "pooling_mode_lasttoken"
        case .weightedMean: return "pooling_mode_weightedmean_tokens"
        case .meanSqrtLength: return "pooling_mode_mean_sqrt_len_tokens"
        }
    }

    /// The registry name of the mode's pooler plugin.
    public var pluginName: String {
        switch self {
        case .mean: return "mean-pooling"
        case .max: return "max-pooling"
        case .cls: return "cls-pooling"
        case .lastToken: return "last-token-pooling"
        case .weightedMean: return "weighted-mean-pooling"
        case .meanSqrtLength: return "mean-sqrt-len-pooling"
        }
    }

    /// Reads a mode by its name here or by sentence-transformers' spellings (`cls_token`, `mean_tokens`, `mean_sqrt_len_tokens`).
    public init?(name: String) {
        let aliases: [String: PoolingMode] = [
            "cls_token": .cls, "first": .cls, "mean_tokens": .mean, "max_tokens": .max, "last": .lastToken,
            "last_token": .lastToken, "weightedmean_tokens": .weightedMean, "mean_sqrt_len": .meanSqrtLength,
            "mean-sqrt-len": .meanSqrtLength, "weighted-mean": .weightedMean, "last-token": .lastToken,
        ]
        guard let mode = PoolingMode(rawValue: name) ?? aliases[name] else { return nil }
        self = mode
    }
}
