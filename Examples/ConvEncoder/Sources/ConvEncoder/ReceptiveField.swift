/// One layer of a 1-D network as far as its receptive field goes: how far apart its taps are and how it
/// changes the spacing J between neighbouring positions (in input positions).
public enum ConvGeometry: Sendable, Equatable {
    /// K taps d apart, outputs `stride` apart: adds (K − 1)·d·J, then J ×= stride.
    case convolution(kernelSize: Int, dilation: Int = 1, stride: Int = 1)
    /// Windows of `size` at stride `size`: adds (size − 1)·J, then J ×= size.
    case pool(size: Int)
    /// Nearest, bed-of-nails or max-unpool upsampling by `factor`: each output reads one input cell (or none),
    /// so the field stays and J ÷= factor.
    case upsample(factor: Int)
    /// A transposed convolution of K taps at stride s (dilation 1): an output hears ⌈K/s⌉ neighbouring inputs,
    /// which adds (⌈K/s⌉ − 1)·J, then J ÷= s.
    case transposedConvolution(kernelSize: Int, stride: Int)

    /// The receptive field after each layer of `layers`, in input positions, starting with RF₀ = 1: the widest
    /// span of inputs that can reach one output. In a U-Net the deepest path (every level down, then up) is
    /// the widest, because a skip connection's field lies inside the field of the cell below it.
    public static func receptiveFields(_ layers: [ConvGeometry]) -> [Int] {
        var field = 1, jump = 1
        var result = [field]
        for layer in layers {
            switch layer {
            case .convolution(let k, let d, let s):
                field += (k - 1) * d * jump
                jump *= s
            case .pool(let size):
                field += (size - 1) * jump
                jump *= size
            case .upsample(let factor):
                jump /= factor
            case .transposedConvolution(let k, let s):
                field += ((k + s - 1) / s - 1) * jump
                jump /= s
            }
            result.append(field)
        }
        return result
    }
}
