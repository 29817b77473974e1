/// One layer of a 1-D network as far as its receptive field goes: which input positions each output position
/// reads. Convolutions are aligned as `UNetBlock` pads them ((span − 1)/2 on the left); for a stack that only
/// goes down the alignment changes nothing, and the field is the textbook RF₀ = 1, RF += (span − 1)·J.
public enum ConvGeometry: Sendable, Equatable {
    /// K taps d apart, outputs `stride` apart.
    case convolution(kernelSize: Int, dilation: Int = 1, stride: Int = 1)
    /// Windows of `size` at stride `size`.
    case pool(size: Int)
    /// Nearest-neighbour or max-unpool upsampling: output q reads input ⌊q/factor⌋ (max unpooling may put the
    /// value in any slot of the window, so structurally it reads what nearest reads).
    case upsample(factor: Int)
    /// Bed-of-nails upsampling: output q reads input q/factor when factor divides q, nothing otherwise.
    case bedOfNails(factor: Int)
    /// A transposed convolution of K taps at stride s whose output is cropped by `crop` on the left: output q
    /// reads the inputs i with 0 ≤ q + crop − s·i < K.
    case transposedConvolution(kernelSize: Int, stride: Int, crop: Int = 0)

    /// The input positions behind the outputs `range`, or `nil` when none (bed of nails between its nails).
    /// Every layer reads a monotone window, so the inputs of a range of outputs are a range too.
    public func sources(of range: ClosedRange<Int>) -> ClosedRange<Int>? {
        func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
        func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
        let (a, b) = (range.lowerBound, range.upperBound)
        switch self {
        case .convolution(let k, let d, let s):
            let left = (k - 1) * d / 2
            return (a * s - left)...(b * s - left + (k - 1) * d)
        case .pool(let size):
            return (a * size)...(b * size + size - 1)
        case .upsample(let f):
            return floorDiv(a, f)...floorDiv(b, f)
        case .bedOfNails(let f):
            let (low, high) = (ceilDiv(a, f), floorDiv(b, f))
            return low <= high ? low...high : nil
        case .transposedConvolution(let k, let s, let crop):
            let (low, high) = (ceilDiv(a + crop - k + 1, s), floorDiv(b + crop, s))
            return low <= high ? low...high : nil
        }
    }

    /// How many outputs one input becomes (1 for layers that do not upsample).
    var upFactor: Int {
        switch self {
        case .upsample(let f), .bedOfNails(let f): return f
        case .transposedConvolution(_, let s, _): return s
        default: return 1
        }
    }

    /// The receptive field of the last layer of `layers`: the widest span of inputs behind one output, over
    /// every alignment of the output to the up-sampling grid (one period: the product of the up factors).
    public static func receptiveField(_ layers: [ConvGeometry]) -> Int {
        let period = layers.reduce(1) { $0 * $1.upFactor }
        var widest = 0
        for p in 0..<period {
            var range: ClosedRange<Int>? = p...p
            for layer in layers.reversed() { range = range.flatMap(layer.sources) }
            widest = Swift.max(widest, range?.count ?? 0)
        }
        return widest
    }

    /// The receptive field after each layer of `layers`, in input positions, starting with RF₀ = 1.
    public static func receptiveFields(_ layers: [ConvGeometry]) -> [Int] {
        (0...layers.count).map { receptiveField(Array(layers.prefix($0))) }
    }
}
