/// What can go wrong when scoring translations with BLEU or chrF.
public enum MetricError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Corpus scoring needs exactly one reference line per hypothesis line.
    case lineCountMismatch(hypotheses: Int, references: Int)
    /// Sentence scoring was given an empty list of references.
    case noReferences
    /// A metric parameter is out of range; the text says which and why.
    case invalidConfiguration(String)

    /// A sentence a user can act on.
    public var description: String {
        switch self {
        case let .lineCountMismatch(hypotheses, references):
            "There are \(hypotheses) hypothesis lines but \(references) reference lines; "
                + "each hypothesis needs exactly one reference on the same line number."
        case .noReferences:
            "At least one reference is needed to score a hypothesis."
        case let .invalidConfiguration(reason):
            reason
        }
    }
}
