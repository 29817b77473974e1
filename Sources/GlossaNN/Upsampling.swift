// Going back up the time axis of `[B, T, C]` states, as U-Net's decoder does (Ronneberger et al. 2015):
// nearest-neighbour and bed-of-nails upsampling, and max pooling that keeps its arg-max so that max
// unpooling can put each value back where it came from. All are gathers or scatters along T, so each has
// exactly the backward rule of the GlossaTensor primitive underneath (`indexSelect`, `indexAdd`,
// `takeAlong`, `scatterAddAlong`).
import GlossaTensor

/// Where a 1-D max pool took each of its outputs from: a position along T for every element of the pooled
/// `[B, T', C]` tensor, in its row-major order, and the length T of the input it indexes.
public struct MaxPoolIndices: Sendable, Equatable {
    /// `positions[(b·T' + i)·C + c]` is the input position (0..<T) of output element (b, i, c).
    public var positions: [Int]
    /// T, the input length that max unpooling restores.
    public var inputLength: Int

    /// Indices as a pool produced them.
    public init(positions: [Int], inputLength: Int) {
        self.positions = positions
        self.inputLength = inputLength
    }
}

extension Tensor {
    /// Nearest-neighbour upsampling along T: `[B, T, C]` → `[B, T·factor, C]`, output t a copy of input
    /// ⌊t / factor⌋. The gradient of each input is the sum over its copies.
    public func upsampledNearest(factor: Int) -> Tensor {
        precondition(rank == 3 && factor >= 1, "upsampledNearest needs [B, T, C] and a factor of at least 1")
        return indexSelect(axis: 1, (0..<(shape[1] * factor)).map { $0 / factor })
    }

    /// Bed-of-nails upsampling along T: `[B, T, C]` → `[B, T·factor, C]`, input t at output t·factor and
    /// zeros in the other factor − 1 slots (zero insertion, the input side of a strided transposed convolution).
    public func upsampledBedOfNails(factor: Int) -> Tensor {
        precondition(rank == 3 && factor >= 1, "upsampledBedOfNails needs [B, T, C] and a factor of at least 1")
        return indexAdd(axis: 1, (0..<shape[1]).map { $0 * factor }, size: shape[1] * factor)
    }

    /// Max pooling along T over windows of `size` (stride `size`; a short last window when T is not a
    /// multiple): `[B, T, C]` → `[B, ⌈T/size⌉, C]`, with the arg-max position of every output element.
    /// With `lengths`, row b's positions from `lengths[b]` on are padding and never win; a window of padding
    /// only takes its first position. Ties go to the earliest position.
    public func maxPooled1d(size: Int, lengths: [Int]? = nil) -> (values: Tensor, indices: MaxPoolIndices) {
        precondition(rank == 3 && size >= 1, "maxPooled1d needs [B, T, C] and a window of at least 1")
        let (b, t, c) = (shape[0], shape[1], shape[2])
        precondition(lengths == nil || lengths?.count == b, "maxPooled1d needs one length per row")
        let cells = (t + size - 1) / size
        var positions = [Int](repeating: 0, count: b * cells * c)
        scalars.withUnsafeBufferPointer { x in
            for row in 0..<b {
                let real = Swift.min(t, lengths?[row] ?? t)
                for cell in 0..<cells {
                    let start = cell * size, end = Swift.min(t, Swift.min(start + size, Swift.max(real, start + 1)))
                    for ch in 0..<c {
                        var best = start
                        for p in (start + 1)..<Swift.max(start + 1, end) where x[(row * t + p) * c + ch] > x[(row * t + best) * c + ch] {
                            best = p
                        }
                        positions[(row * cells + cell) * c + ch] = best
                    }
                }
            }
        }
        return (takeAlong(axis: 1, positions), MaxPoolIndices(positions: positions, inputLength: t))
    }

    /// Max unpooling along T: `[B, T', C]` → `[B, T, C]` with each element put back at the position its max
    /// pool took it from and zeros elsewhere (SegNet / U-Net's "unpooling with switches").
    public func maxUnpooled1d(_ indices: MaxPoolIndices) -> Tensor {
        precondition(indices.positions.count == count, "maxUnpooled1d: \(count) values but \(indices.positions.count) indices")
        return scatterAddAlong(axis: 1, indices.positions, size: indices.inputLength)
    }
}
