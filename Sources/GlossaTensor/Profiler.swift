import Foundation

/// An opt-in time profile (`GLOSSA_PROFILE=1`, or `Profiler.isEnabled = true` before the work): each forward
/// primitive is charged the time since the previous mark, each backward rule its own time, both under the model
/// part that was current when the forward primitive ran (`Profiler.within`), so a training step splits into
/// forward and backward per layer kind. Matrix products also record their FLOPs and shapes, so the step's model
/// FLOP/s can be set against the rate `cblas_sgemm` reaches on the very same shapes.
///
/// Profiling is for one thread of control: parts and marks are process-wide and not synchronised.
public enum Profiler {
    /// Whether profiling is on (from the environment at start; a benchmark may turn it on before it runs).
    nonisolated(unsafe) public static var isEnabled = ProcessInfo.processInfo.environment["GLOSSA_PROFILE"] == "1"

    /// Forward or backward work.
    public enum Phase: String, Sendable { case forward, backward }

    /// One row of the profile: a part, a phase and a primitive.
    public struct Key: Hashable, Sendable {
        /// The model part (`self-attention`, `optimizer`, …; `other` outside every part).
        public var part: String
        /// Forward or backward.
        public var phase: Phase
        /// The primitive (`matmul`, `∂softmax`, …).
        public var primitive: String
    }

    /// Time, calls and matrix-product FLOPs of one row.
    public struct Total: Sendable {
        /// Wall seconds.
        public var seconds = 0.0
        /// Primitives run.
        public var calls = 0
        /// FLOPs of the matrix products among them (2·m·n·k each).
        public var flops = 0.0
    }

    /// A product's shape: `batch` products of m×k by k×n, as `Tensor.matmul` hands them to BLAS.
    public struct GemmShape: Hashable, Sendable, CustomStringConvertible {
        public var batch, m, n, k: Int
        public var transA, transB: Bool
        /// `batch×[m×k·k×n]`, with ᵀ on transposed operands.
        public var description: String { "\(batch > 1 ? "\(batch)×" : "")\(m)×\(k)\(transA ? "ᵀ" : "")·\(k)×\(n)\(transB ? "ᵀ" : "")" }
        /// 2·m·n·k·batch.
        public var flops: Double { 2 * Double(m) * Double(n) * Double(k) * Double(batch) }
    }

    nonisolated(unsafe) private static var totals: [Key: Total] = [:]
    /// Products recorded so far: how many of each shape, by the part that ran them.
    nonisolated(unsafe) public private(set) static var gemmShapes: [String: [GemmShape: Int]] = [:]
    nonisolated(unsafe) private static var last = DispatchTime.now().uptimeNanoseconds
    /// The part charged now.
    nonisolated(unsafe) public private(set) static var part = "other"
    nonisolated(unsafe) static var phase = Phase.forward

    /// Runs `body` as model part `part` (time before it is charged to the enclosing part); parts nest.
    @inline(__always)
    public static func within<R>(_ part: String, _ body: () throws -> R) rethrows -> R {
        guard isEnabled else { return try body() }
        markPrimitive("(glue)")
        let outer = self.part
        self.part = part
        defer {
            markPrimitive("(glue)")
            self.part = outer
        }
        return try body()
    }

    /// Records `batch` products of one shape (their FLOPs go to the next mark's row).
    public static func countGemm(batch: Int = 1, m: Int, n: Int, k: Int, transA: Bool, transB: Bool) {
        guard isEnabled, m > 0, n > 0, k > 0, batch > 0 else { return }
        let shape = GemmShape(batch: batch, m: m, n: n, k: k, transA: transA, transB: transB)
        gemmShapes[part, default: [:]][shape, default: 0] += 1
        pendingFlops += shape.flops
    }
    nonisolated(unsafe) static var pendingFlops = 0.0

    /// Charges the time since the previous mark (and the FLOPs counted since) to primitive `name` under the current
    /// part and phase.
    static func markPrimitive(_ name: @autoclosure () -> String) {
        guard isEnabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let key = Key(part: part, phase: phase, primitive: name())
        var total = totals[key] ?? Total()
        total.seconds += Double(now &- min(last, now)) / 1e9
        total.calls += 1
        total.flops += pendingFlops
        totals[key] = total
        pendingFlops = 0
        last = now
    }

    /// Starts a new interval without charging anything (after non-tensor work).
    public static func reset() { last = DispatchTime.now().uptimeNanoseconds }

    /// Forgets everything recorded so far.
    public static func clear() {
        totals = [:]
        gemmShapes = [:]
        pendingFlops = 0
        reset()
    }

    /// Every row recorded so far.
    public static var rows: [Key: Total] { totals }

    /// Runs a whole backward pass: everything in it is charged to the backward phase.
    static func backwardPass<R>(_ body: () -> R) -> R {
        guard isEnabled else { return body() }
        markPrimitive("(glue)")
        let outer = phase
        phase = .backward
        defer {
            markPrimitive("(glue)")
            phase = outer
        }
        return body()
    }

    /// Runs the backward rule of a node made in `part`, charging it there.
    static func backwardRule<R>(part nodePart: String, _ name: @autoclosure () -> String, _ body: () -> R) -> R {
        guard isEnabled else { return body() }
        markPrimitive("(glue)")
        let outerPart = part
        part = nodePart
        let result = body()
        markPrimitive(name())
        part = outerPart
        return result
    }

    /// The profile so far by primitive, most expensive first.
    public static func report() -> String {
        var byPrimitive: [String: Total] = [:]
        for (key, v) in totals {
            let name = key.phase == .backward && !key.primitive.hasPrefix("∂") ? "∂" + key.primitive : key.primitive
            byPrimitive[name, default: Total()].seconds += v.seconds
            byPrimitive[name, default: Total()].calls += v.calls
        }
        let total = byPrimitive.values.reduce(0) { $0 + $1.seconds }
        return byPrimitive.sorted { $0.value.seconds > $1.value.seconds }.map { name, v in
            String(format: "%8.3f s %5.1f%% %7d  %@", v.seconds, 100 * v.seconds / max(total, 1e-9), v.calls, name)
        }.joined(separator: "\n")
    }
}

extension Primitive {
    /// The primitive's name without its saved values (formatting those would cost more than the op).
    var name: String {
        switch self {
        case .add: "add"
        case .sub: "sub"
        case .mul: "mul"
        case .div: "div"
        case .neg: "neg"
        case .exp: "exp"
        case .log: "log"
        case .sqrt: "sqrt"
        case .rsqrt: "rsqrt"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        case .relu: "relu"
        case .silu: "silu"
        case .geluTanh: "geluTanh"
        case .geluErf: "geluErf"
        case .pow: "pow"
        case .clamp: "clamp"
        case .select: "select"
        case .sum: "sum"
        case .max: "max"
        case .logSumExp: "logSumExp"
        case .matmul: "matmul"
        case .reshape: "reshape"
        case .permute: "permute"
        case .slice: "slice"
        case .concat: "concat"
        case .indexSelect: "indexSelect"
        case .indexAdd: "indexAdd"
        case .pad: "pad"
        case .takeAlong: "takeAlong"
        case .scatterAddAlong: "scatterAddAlong"
        case .softmax: "softmax"
        case .logSoftmax: "logSoftmax"
        case .layerNorm: "layerNorm"
        case .rmsNorm: "rmsNorm"
        case .dropout: "dropout"
        case .addDropped: "addDropped"
        case .crossEntropy: "crossEntropy"
        case .attention: "attention"
        case .gruCell: "gruCell"
        case .lstmCell: "lstmCell"
        }
    }
}
