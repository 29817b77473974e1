import Foundation

/// A learning-rate schedule: linear warmup to `peak` over `warmup` updates, then a decay.
///
/// The decays that end somewhere (`cosine`, `linear`) are functions of the share of the budget spent, so a budget in
/// minutes or tokens (whose step count is unknown in advance) decays as smoothly as one in steps.
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    /// What follows the warmup.
    public enum Decay: String, Codable, Sendable, CaseIterable {
        /// The peak rate throughout.
        case constant
        /// ∝ 1/√step after warmup (Vaswani et al. 2017; Marian's `inv-sqrt`); the warmup is part of its formula.
        case inverseSquareRoot = "inverse_sqrt"
        /// A half cosine from the peak down to `minimum` at the end of the budget.
        case cosine
        /// A straight line from the peak down to `minimum` at the end of the budget.
        case linear
    }

    /// The decay.
    public var decay: Decay
    /// The rate at the end of warmup.
    public var peak: Float
    /// Updates of linear warmup (0: none).
    public var warmup: Int
    /// Where `cosine` and `linear` end.
    public var minimum: Float
    /// The budget in updates, for `rate(at:)` without a progress (cosine and linear only).
    public var totalSteps: Int?

    /// A schedule.
    public init(decay: Decay, peak: Float, warmup: Int = 0, minimum: Float = 0, totalSteps: Int? = nil) {
        self.decay = decay
        self.peak = peak
        self.warmup = warmup
        self.minimum = minimum
        self.totalSteps = totalSteps
    }

    /// Warmup, then ∝ 1/√step.
    public static func inverseSquareRoot(peak: Float, warmup: Int) -> Self { Self(decay: .inverseSquareRoot, peak: peak, warmup: warmup) }
    /// Warmup, then a half cosine to `minimum` at update `total`.
    public static func cosine(peak: Float, warmup: Int, total: Int, minimum: Float) -> Self {
        Self(decay: .cosine, peak: peak, warmup: warmup, minimum: minimum, totalSteps: total)
    }
    /// A fixed rate.
    public static func constant(_ rate: Float) -> Self { Self(decay: .constant, peak: rate) }

    /// The rate of update `step` (1-based); `progress` is the share of the budget spent (0...1), by default
    /// `step / totalSteps`.
    public func rate(at step: Int, progress: Double? = nil) -> Float {
        let s = Float(Swift.max(step, 1))
        let warm = warmup > 0 ? Swift.min(1, Float(step) / Float(warmup)) : 1
        let spent = Swift.min(1, Swift.max(0, progress ?? totalSteps.map { Double(step) / Double(Swift.max($0, 1)) } ?? 0))
        switch decay {
        case .constant:
            return peak * warm
        case .inverseSquareRoot:
            let w = Float(Swift.max(warmup, 1))
            return peak * Swift.min(s / w, (w / s).squareRoot())
        case .cosine:
            return warm * (minimum + (peak - minimum) * Float(0.5 * (1 + Foundation.cos(Double.pi * spent))))
        case .linear:
            return warm * (minimum + (peak - minimum) * Float(1 - spent))
        }
    }
}
