import Foundation
import GlossaNN
import GlossaTensor

/// The kernel workloads of `glossa bench`.
enum KernelBench {
    /// Tensor.matmul (allocation included) against a bare `cblas_sgemm` into a preallocated buffer.
    static func gemm(seconds: Double) -> [BenchRow] {
        let cases: [(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, label: String)] = [
            (512, 512, 512, false, false, "[512,512]x[512,512]"),
            (1536, 1024, 256, false, false, "[1536,256]x[256,1024]"),
            (1536, 256, 1024, false, false, "[1536,1024]x[1024,256]"),
            (256, 1024, 1536, true, false, "[256,1536]ᵀx[1536,1024] (weight grad)"),
            (32, 8000, 256, false, true, "[32,256]x[8000,256]ᵀ (decode, output layer)"),
            (32, 8000, 256, false, false, "[32,256]x[256,8000] (decode, output layer, weight stored [in, out])"),
            (32, 1024, 256, false, true, "[32,256]x[1024,256]ᵀ (decode, feed-forward)"),
            (32, 1024, 256, false, false, "[32,256]x[256,1024] (decode, feed-forward, weight stored [in, out])"),
            (4, 8000, 256, false, true, "[4,256]x[8000,256]ᵀ (decode, few sentences left)"),
            (4, 8000, 256, false, false, "[4,256]x[256,8000] (few left, weight stored [in, out])"),
        ]
        return cases.map { c in
            let a = randomInput(c.transA ? [c.k, c.m] : [c.m, c.k], seed: 1), b = randomInput(c.transB ? [c.n, c.k] : [c.k, c.n], seed: 2)
            let flops = 2.0 * Double(c.m * c.n * c.k)
            let ours = bestTime(seconds: seconds) { _ = a.matmul(b, transposeSelf: c.transA, transposeOther: c.transB) }
            var out = [Float](repeating: 0, count: c.m * c.n)
            let reference = a.scalars.withUnsafeBufferPointer { pa in b.scalars.withUnsafeBufferPointer { pb in
                out.withUnsafeMutableBufferPointer { pc in
                    bestTime(seconds: seconds) {
                        BLAS.gemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: c.m, n: c.n, k: c.k, transA: c.transA, transB: c.transB)
                    }
                }
            } }
            return BenchRow(workload: "gemm", shape: c.label, unit: "GFLOP/s", glossa: flops / ours / 1e9,
                            reference: flops / reference / 1e9, referenceName: "cblas_sgemm direct")
        }
    }

    /// Row softmax and log-softmax over [4096, 512] against the scalar reference loop.
    static func softmax(seconds: Double) -> [BenchRow] {
        let x = randomInput([4096, 512], seed: 3)
        let elements = Double(x.count)
        let ours = bestTime(seconds: seconds) { _ = x.softmax() }
        let oursLog = bestTime(seconds: seconds) { _ = x.logSoftmax() }
        let scalar = bestTime(seconds: seconds) { _ = scalarSoftmax(x.scalars, cols: 512) }
        return [
            BenchRow(workload: "softmax", shape: "[4096,512]", unit: "G elements/s", glossa: elements / ours / 1e9,
                     reference: elements / scalar / 1e9, referenceName: "scalar expf loop, 1 thr"),
            BenchRow(workload: "logsoftmax", shape: "[4096,512]", unit: "G elements/s", glossa: elements / oursLog / 1e9,
                     reference: elements / scalar / 1e9, referenceName: "scalar expf loop, 1 thr"),
        ]
    }

    /// Layer norm over [4096, 512] against the scalar reference loop.
    static func layerNorm(seconds: Double) -> [BenchRow] {
        let x = randomInput([4096, 512], seed: 4), w = Tensor.ones([512]), b = Tensor.zeros([512])
        let elements = Double(x.count)
        let ours = bestTime(seconds: seconds) { _ = x.layerNorm(weight: w, bias: b) }
        let scalar = bestTime(seconds: seconds) { _ = scalarLayerNorm(x.scalars, cols: 512) }
        return [BenchRow(workload: "layernorm", shape: "[4096,512]", unit: "G elements/s", glossa: elements / ours / 1e9,
                         reference: elements / scalar / 1e9, referenceName: "scalar loop, 1 thr")]
    }

    /// Self-attention forward and forward+backward at translator size, against its matmul time alone.
    static func attention(seconds: Double) -> [BenchRow] {
        var rng = SeededGenerator(seed: 5)
        let attention = MultiHeadAttention(dimension: 256, heads: 4, generator: &rng)
        let x = randomInput([32, 48, 256], seed: 6)
        let mask = AttentionMask.causal(queries: 48, keys: 48)
        // FLOPs: four projections plus scores and mixing.
        let (b, t, c) = (32.0, 48.0, 256.0)
        let flops = 4 * 2 * b * t * c * c + 2 * 2 * b * t * t * c
        let forward = bestTime(seconds: seconds) { _ = withoutGrad { attention(x, mask: mask) } }
        let projections = bestTime(seconds: seconds) {
            for _ in 0..<4 { _ = withoutGrad { attention.queryProjection(x) } }
        }
        let projectionFlops = 4 * 2 * b * t * c * c
        return [BenchRow(workload: "attention", shape: "B32 T48 C256 H4 causal, fwd", unit: "GFLOP/s",
                         glossa: flops / forward / 1e9, reference: projectionFlops / projections / 1e9,
                         referenceName: "its 4 projections only")]
    }

    static func randomInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var rng = SeededGenerator(seed: seed)
        return Tensor.normal(shape, using: &rng)
    }

    static func scalarSoftmax(_ x: [Float], cols: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / cols) {
            var m = -Float.infinity
            for i in 0..<cols { m = max(m, x[r * cols + i]) }
            var s: Float = 0
            for i in 0..<cols { let e = expf(x[r * cols + i] - m); y[r * cols + i] = e; s += e }
            for i in 0..<cols { y[r * cols + i] /= s }
        }
        return y
    }

    static func scalarLayerNorm(_ x: [Float], cols: Int) -> [Float] {
        var y = x
        for r in 0..<(x.count / cols) {
            var mu: Float = 0, v: Float = 0
            for i in 0..<cols { mu += x[r * cols + i] }
            mu /= Float(cols)
            for i in 0..<cols { v += (x[r * cols + i] - mu) * (x[r * cols + i] - mu) }
            let rs = 1 / (v / Float(cols) + 1e-5).squareRoot()
            for i in 0..<cols { y[r * cols + i] = (x[r * cols + i] - mu) * rs }
        }
        return y
    }
}
