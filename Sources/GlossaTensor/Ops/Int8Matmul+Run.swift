import CDNNL
import CGlossaKernels

/// Activations quantized per row: codes `[M, K]`, and a scale and zero point per row.
struct QuantizedRows {
    var codes: [UInt8]
    var scales: [Float]
    var zeros: [Int32]
}

extension QuantizedMatrix {
    /// The smallest product (M·N·K) split over threads.
    static let splitThreshold = 1 << 24

    /// y = x·Wᵀ (+ bias) with x `[..., K]` in Float → `[..., N]` in Float, through oneDNN's u8·s8→s32 product.
    /// Large products are split by rows or by columns over `Threads.count` threads, each part one
    /// single-threaded oneDNN call. Inference only: the result is not recorded for autograd.
    public func matmul(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1 && x.shape[x.rank - 1] == inFeatures, "QuantizedMatrix.matmul needs [..., \(inFeatures)], got \(x.shape)")
        let m = x.count / inFeatures, n = outFeatures
        let shape = Array(x.shape.dropLast()) + [n]
        guard m > 0 else { return Tensor(shape: shape, scalars: []) }
        let q = quantizeRows(x)
        let values = makeScalars(m * n) { out in
            guard let pout = out.baseAddress else { return }
            if (try? integerProduct(q, rows: m, into: pout)) == nil {
                // oneDNN refused this shape: the reference loop gives the same numbers, slowly.
                let c = referenceIntegerProduct(q.codes, rows: m)
                c.withUnsafeBufferPointer { pc in
                    guard let base = pc.baseAddress else { return }
                    dequantize(base, ldc: n, rows: 0..<m, cols: 0..<n, q, pout)
                }
            }
        }
        return Tensor(shape: shape, scalars: values)
    }

    /// The activation codes of x, `[M, K]`, with per-row scales and zero points (the AVX2 kernel).
    func quantizeRows(_ x: Tensor) -> QuantizedRows {
        let m = x.count / inFeatures, k = inFeatures
        // Every code is written by the kernel: no zero fill.
        var q = QuantizedRows(codes: [UInt8](unsafeUninitializedCapacity: m * k) { _, count in count = m * k },
                              scales: [Float](repeating: 0, count: m), zeros: [Int32](repeating: 0, count: m))
        let symmetric: Int32 = activations == .symmetricPerRow ? 1 : 0
        let codeMax = self.codeMax
        x.scalars.withUnsafeBufferPointer { px in q.codes.withUnsafeMutableBufferPointer { pq in
            q.scales.withUnsafeMutableBufferPointer { ps in q.zeros.withUnsafeMutableBufferPointer { pz in
                guard let x0 = px.baseAddress, let q0 = pq.baseAddress, let s0 = ps.baseAddress, let z0 = pz.baseAddress else { return }
                nonisolated(unsafe) let (xp, qp, sp, zp) = (x0, q0, s0, z0)
                // Split only with the product itself (a quantize pass is ~1/N of it; dispatching 32 short rows to
                // two threads cost more than it saved).
                let split = m * k * self.outFeatures >= Self.splitThreshold
                parallelChunks(split ? m : 1, cost: split ? .max / m : 1) { part in
                    let rows = split ? part : 0..<m
                    gk_quantize_rows_u8(xp + rows.lowerBound * k, rows.count, k, codeMax, symmetric,
                                        qp + rows.lowerBound * k, sp + rows.lowerBound, zp + rows.lowerBound)
                }
            } }
        } }
        return q
    }

    /// out[m, n] from the activation codes: oneDNN's integer product part by part, each part dequantized as
    /// soon as it is done. Throws if oneDNN refuses a primitive or a run (`out` may then be partly written: the
    /// caller recomputes all of it).
    func integerProduct(_ q: QuantizedRows, rows m: Int, into out: UnsafeMutablePointer<Float>) throws(OneDNNError) {
        let n = outFeatures, k = inFeatures
        // C is written whole by oneDNN before it is read, and the codes are only read: neither is copied or zeroed
        // (a zero fill of C cost as much as the product at M = 1536). C lives in the calling thread's scratch (slot 2),
        // kept across products, so a decoding step's products allocate no result buffer.
        let cBytes = Swift.max(1, 4 * m * n)
        let scratch = gk_thread_scratch(2, cBytes)
        let owned = scratch == nil ? UnsafeMutableRawPointer.allocate(byteCount: cBytes, alignment: 64) : nil
        defer { owned?.deallocate() }
        guard let cBuffer = scratch ?? owned else { return }
        let threads = Threads.count
        var failure: OneDNNError?
        q.codes.withUnsafeBytes { rawA in
            guard let a0 = rawA.baseAddress else { return }
            do throws(OneDNNError) {
                // oneDNN takes a mutable pointer for every memory object; it never writes the source.
                nonisolated(unsafe) let (a, cp, o) = (UnsafeMutableRawPointer(mutating: a0), cBuffer, out)
                func run(_ part: (rows: Range<Int>, cols: Range<Int>), _ primitive: OneDNNMatmul) throws(OneDNNError) {
                    let rows = part.rows.count, cols = part.cols.count
                    let src = try OneDNN.matrix(rows, k, strides: (k, 1), dnnl_u8)
                    let dst = try OneDNN.matrix(rows, cols, strides: (n, 1), dnnl_s32)
                    let wei = try weightsDesc(lo: part.cols.lowerBound, hi: part.cols.upperBound)
                    let cPart = cp + 4 * (part.rows.lowerBound * n + part.cols.lowerBound)
                    try primitive.run(a: a + part.rows.lowerBound * k, src: src,
                                      w: packed + weightsOffset(part.cols.lowerBound), weights: wei, c: cPart, dst: dst)
                    dequantize(cPart.assumingMemoryBound(to: Int32.self), ldc: n, rows: part.rows, cols: part.cols, q, o)
                }
                // An int8 product is 5–8× faster than fp32 here, so it pays to split only from 16 M multiply-adds (about
                // 30 µs on one core); smaller ones (every decoding step's) run on the calling thread, with no fork-join.
                guard threads > 1 && m * n * k >= Self.splitThreshold else {
                    try run((0..<m, 0..<n), try primitive(rows: m, lo: 0, hi: n))
                    return
                }
                // Parts as in BLAS.gemm: columns (multiples of 64) when N is the longer side and the weights are plain,
                // rows otherwise.
                var parts: [(rows: Range<Int>, cols: Range<Int>)]
                if n >= m && packedPlain != nil {
                    let panels = (n + 63) / 64, count = Swift.min(threads, panels)
                    parts = (0..<count).map { part in
                        (0..<m, Swift.min(n, panels * part / count * 64)..<Swift.min(n, panels * (part + 1) / count * 64))
                    }
                } else {
                    let count = Swift.min(threads, m)
                    parts = (0..<count).map { part in (m * part / count..<m * (part + 1) / count, 0..<n) }
                }
                parts.removeAll { $0.rows.isEmpty || $0.cols.isEmpty }
                // Primitives are made here, on the calling thread, so a refusal surfaces before any work is split.
                let primitives = try parts.map { part throws(OneDNNError) in try primitive(rows: part.rows.count, lo: part.cols.lowerBound, hi: part.cols.upperBound) }
                nonisolated(unsafe) var errors = [OneDNNError?](repeating: nil, count: parts.count)
                let partsCopy = parts
                parallelChunks(parts.count, cost: .max / parts.count) { range in
                    for index in range {
                        do throws(OneDNNError) { try run(partsCopy[index], primitives[index]) } catch { errors[index] = error }
                    }
                }
                if let failure = errors.compactMap({ $0 }).first { throw failure }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// out[rows, cols] = sx·sw·(C − zx·Σqw) + bias, with `c` pointing at C[rows.lower, cols.lower].
    func dequantize(_ c: UnsafePointer<Int32>, ldc: Int, rows: Range<Int>, cols: Range<Int>, _ q: QuantizedRows, _ out: UnsafeMutablePointer<Float>) {
        q.scales.withUnsafeBufferPointer { ps in q.zeros.withUnsafeBufferPointer { pz in
            scales.withUnsafeBufferPointer { pw in codeSums.withUnsafeBufferPointer { psum in
                guard let s = ps.baseAddress, let z = pz.baseAddress, let w = pw.baseAddress, let sum = psum.baseAddress else { return }
                func run(_ b: UnsafePointer<Float>?) {
                    gk_dequantize_rows(c, ldc, rows.count, cols.count, s + rows.lowerBound, z + rows.lowerBound,
                                       w + cols.lowerBound, sum + cols.lowerBound, b.map { $0 + cols.lowerBound },
                                       out + rows.lowerBound * outFeatures + cols.lowerBound, outFeatures)
                }
                if let bias { bias.withUnsafeBufferPointer { run($0.baseAddress) } } else { run(nil) }
            } }
        } }
    }
}
