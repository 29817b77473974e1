import CDNNL

/// The plain loops of `QuantizedMatrix`: the test oracle of the AVX2 quantizer, oneDNN's product and the
/// dequantization, written for clarity (same formulas, same rounding: half to even, x·(1/s)).
extension QuantizedMatrix {
    /// The same product as `matmul`, every step a plain loop with exact integer accumulation.
    public func referenceMatmul(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures, "referenceMatmul needs [..., \(inFeatures)], got \(x.shape)")
        let m = x.count / inFeatures, n = outFeatures
        let q = referenceQuantizeRows(x)
        let c = referenceIntegerProduct(q.codes, rows: m)
        var out = [Float](repeating: 0, count: m * n)
        for row in 0..<m {
            for col in 0..<n {
                let v = q.scales[row] * scales[col] * Float(c[row * n + col] - q.zeros[row] * codeSums[col])
                out[row * n + col] = bias.map { v + $0[col] } ?? v
            }
        }
        return Tensor(shape: Array(x.shape.dropLast()) + [n], scalars: out)
    }

    /// Per-row codes, scales and zero points (`ActivationQuantization`), as the C kernel computes them.
    func referenceQuantizeRows(_ x: Tensor) -> QuantizedRows {
        let k = inFeatures, m = x.count / k, qmax = Float(codeMax)
        var q = QuantizedRows(codes: [UInt8](repeating: 0, count: m * k), scales: [Float](repeating: 1, count: m),
                              zeros: [Int32](repeating: 0, count: m))
        for row in 0..<m {
            let values = x.scalars[row * k..<(row + 1) * k]
            let lo = values.min() ?? 0, hi = values.max() ?? 0
            var scale: Float = 1, zero: Int32 = 0
            switch activations {
            case .symmetricPerRow:
                zero = (codeMax + 1) / 2
                let amax = Swift.max(-lo, hi)
                scale = amax > 0 ? amax / Float(codeMax - zero) : 1
            case .asymmetricPerRow:
                let l = Swift.min(lo, 0), h = Swift.max(hi, 0)
                let s = (h - l) / qmax
                if s > 0 {
                    scale = s
                    zero = Int32(Swift.min(Swift.max((-l / s).rounded(.toNearestOrEven), 0), qmax))
                }
            }
            q.scales[row] = scale
            q.zeros[row] = zero
            let inverse = 1 / scale
            for i in 0..<k {
                let v = (x.scalars[row * k + i] * inverse).rounded(.toNearestOrEven) + Float(zero)
                q.codes[row * k + i] = UInt8(Swift.min(Swift.max(v, 0), qmax))
            }
        }
        return q
    }

    /// C[m, n] = Σₖ a[m, k]·codes[n, k] in Int32 (exact: |C| ≤ K·255·127 fits for K < 66,000).
    func referenceIntegerProduct(_ a: [UInt8], rows m: Int) -> [Int32] {
        let n = outFeatures, k = inFeatures
        var c = [Int32](repeating: 0, count: m * n)
        for row in 0..<m {
            for col in 0..<n {
                var acc: Int32 = 0
                for i in 0..<k { acc += Int32(a[row * k + i]) * Int32(codes[col * k + i]) }
                c[row * n + col] = acc
            }
        }
        return c
    }

    /// oneDNN's integer product alone, `[M, N]` (tests compare it with `referenceIntegerProduct` exactly).
    func oneDNNIntegerProduct(_ q: QuantizedRows, rows m: Int) throws(OneDNNError) -> [Int32] {
        var c = [Int32](repeating: 0, count: m * outFeatures)
        let src = try OneDNN.matrix(m, inFeatures, strides: (inFeatures, 1), dnnl_u8)
        let dst = try OneDNN.matrix(m, outFeatures, strides: (outFeatures, 1), dnnl_s32)
        let primitive = try primitive(rows: m, lo: 0, hi: outFeatures)
        var codes = q.codes
        let result: Result<Void, OneDNNError> = codes.withUnsafeMutableBytes { a in
            c.withUnsafeMutableBytes { out in
                guard let pa = a.baseAddress, let pc = out.baseAddress else { return .success(()) }
                return Result { () throws(OneDNNError) in
                    try primitive.run(a: pa, src: src, w: packed, weights: packedDesc, c: pc, dst: dst)
                }
            }
        }
        try result.get()
        return c
    }
}
