import Foundation

/// Plain loops in Double beside each fast kernel: the test oracle for the BLAS and SIMD versions.
public enum Reference {
    /// C = op(A)·op(B) for row-major matrices.
    public static func matmul(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let x = transA ? a[p * m + i] : a[i * k + p]
                    let y = transB ? b[j * k + p] : b[p * n + j]
                    s += Double(x) * Double(y)
                }
                c[i * n + j] = Float(s)
            }
        }
        return c
    }

    /// Row softmax (or log-softmax) of x · scale over rows of `cols`.
    public static func softmax(_ x: [Float], cols: Int, scale: Float = 1, log: Bool = false) -> [Float] {
        var y = x
        for r in 0..<(x.count / cols) {
            let row = (0..<cols).map { Double(x[r * cols + $0]) * Double(scale) }
            let m = row.max() ?? 0
            let z = row.map { Foundation.exp($0 - m) }.reduce(0, +)
            for i in 0..<cols { y[r * cols + i] = Float(log ? row[i] - m - Foundation.log(z) : Foundation.exp(row[i] - m) / z) }
        }
        return y
    }

    /// Row layer norm with affine weight and bias.
    public static func layerNorm(_ x: [Float], weight: [Float], bias: [Float], eps: Float) -> [Float] {
        let cols = weight.count
        var y = x
        for r in 0..<(x.count / cols) {
            let row = (0..<cols).map { Double(x[r * cols + $0]) }
            let mu = row.reduce(0, +) / Double(cols)
            let v = row.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(cols)
            for i in 0..<cols {
                y[r * cols + i] = Float((row[i] - mu) / (v + Double(eps)).squareRoot() * Double(weight[i]) + Double(bias[i]))
            }
        }
        return y
    }
}
