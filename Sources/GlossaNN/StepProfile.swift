import Dispatch
import GlossaTensor

/// Wall time spent per part of decoding, filled by the layers when a `ForwardContext` carries one
/// (`glossa bench decode`), so the next bottleneck is visible; nothing is timed otherwise.
public final class StepProfile {
    /// The parts a translation step is split into.
    public enum Part: String, CaseIterable, Sendable {
        case encoder, selfAttention = "self-attention", crossAttention = "cross-attention", feedForward = "feed-forward"
        case outputProjection = "output projection", search
    }

    /// Seconds per part, summed over every call.
    public private(set) var seconds: [Part: Double] = [:]
    /// Decoder steps run (one call of the decoder for a batch).
    public var steps = 0

    /// An empty profile.
    public init() {}

    /// Adds the time since `start` (`DispatchTime` nanoseconds) to `part`.
    public func add(_ part: Part, since start: UInt64) {
        seconds[part, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// Runs `body`, adding its wall time to `part`.
    public func measure<R>(_ part: Part, _ body: () throws -> R) rethrows -> R {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { seconds[part, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        return try body()
    }
}

extension ForwardContext {
    /// Runs `body`, timed as `part` when this context carries a profile.
    @inline(__always)
    public func measure<R>(_ part: StepProfile.Part, _ body: () throws -> R) rethrows -> R {
        try Profiler.within(part.rawValue) {
            guard let profile else { return try body() }
            return try profile.measure(part, body)
        }
    }
}
