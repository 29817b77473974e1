import Foundation

/// An opt-in time profile by primitive (`GLOSSA_PROFILE=1`): each forward primitive is charged the
/// time since the previous mark, each backward rule its own time. For finding where a step goes.
public enum Profiler {
    /// Whether profiling is on (read once from the environment).
    public static let isEnabled = ProcessInfo.processInfo.environment["GLOSSA_PROFILE"] == "1"
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    nonisolated(unsafe) private static var last = DispatchTime.now().uptimeNanoseconds

    static func mark(_ name: @autoclosure () -> String) {
        guard isEnabled else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        let key = name()
        let old = totals[key] ?? (0, 0)
        totals[key] = (old.seconds + Double(now &- min(last, now)) / 1e9, old.calls + 1)
        last = now
    }

    /// Starts a new interval without charging anything (after non-tensor work).
    public static func reset() { last = DispatchTime.now().uptimeNanoseconds }

    /// The profile so far, most expensive first.
    public static func report() -> String {
        let total = totals.values.reduce(0) { $0 + $1.seconds }
        return totals.sorted { $0.value.seconds > $1.value.seconds }.map { name, v in
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
        case .crossEntropy: "crossEntropy"
        case .gruCell: "gruCell"
        case .lstmCell: "lstmCell"
        }
    }
}
