import Testing
import GlossaTensor
import GlossaTestSupport

/// The decode attention kernel against its plain loop, with a cache stride wider than the positions and a mask.
@Suite struct AttentionStepTests {
    @Test(arguments: [(1, 1, 1, 8), (3, 4, 7, 64), (5, 2, 33, 12)])
    func kernelMatchesTheReferenceLoop(rows: Int, heads: Int, positions: Int, width: Int) {
        var generator = SeededGenerator(seed: UInt64(rows * 100 + positions))
        let stride = (positions + 3) * width  // room to grow, as a cache has
        let q = Tensor.normal([rows * heads * width], std: 1, using: &generator).scalars
        let k = Tensor.normal([rows * heads * stride], std: 1, using: &generator).scalars
        let v = Tensor.normal([rows * heads * stride], std: 1, using: &generator).scalars
        let mask = (0..<(rows * positions)).map { $0 % 5 == 4 ? Float(-1e9) : 0 }
        for m in [nil, mask] {
            var out = [Float](repeating: 0, count: rows * heads * width)
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer { op in
                    func run(_ mp: UnsafePointer<Float>?) {
                        AttentionStep.run(query: qp.baseAddress!, keys: kp.baseAddress!, values: vp.baseAddress!, mask: mp, output: op.baseAddress!,
                                          rows: rows, heads: heads, positions: positions, width: width, stride: stride)
                    }
                    if let m { m.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
                }
            } } }
            let expected = AttentionStep.reference(query: q, keys: k, values: v, mask: m, rows: rows, heads: heads,
                                                   positions: positions, width: width, stride: stride)
            assertClose(out, expected, rtol: 1e-4, atol: 1e-5)
        }
    }
}
