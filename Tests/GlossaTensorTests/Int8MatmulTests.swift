import Foundation
import Testing
@testable import GlossaTensor
import GlossaTestSupport

/// QuantizedMatrix: the AVX2 quantizer and oneDNN's product against the plain loops (exact in integers), and the
/// int8 result against the Float product within stated bounds.
@Suite struct Int8MatmulTests {
    /// (M, K, N): the translator's (d 256, FFN 1024, vocabulary 8000) and MiniLM's (384, 1536) products.
    static let shapes: [(Int, Int, Int)] = [
        (1, 256, 8000), (3, 256, 1024), (32, 1024, 256), (1285, 256, 256), (32, 384, 1536), (3, 1536, 384), (5, 13, 7),
    ]

    static func data(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        return Tensor.normal(shape, std: std, using: &generator)
    }

    /// Activations shaped like a transformer's: mostly N(0, 1), a few channels 20× larger (outlier features), and
    /// one-sided rows (after GELU) in every other row.
    static func realistic(_ m: Int, _ k: Int, seed: UInt64) -> Tensor {
        var generator = SeededGenerator(seed: seed)
        var values = Tensor.normal([m, k], std: 1, using: &generator).scalars
        for row in 0..<m {
            for i in stride(from: 7, to: k, by: 97) { values[row * k + i] *= 20 }
            if row % 2 == 1 {
                for i in 0..<k { let v = values[row * k + i]; values[row * k + i] = 0.5 * v * (1 + Float(erf(Double(v) / 2.0.squareRoot()))) }
            }
        }
        return Tensor(shape: [m, k], scalars: values)
    }

    static func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        var num: Float = 0, den: Float = 0
        for (x, y) in zip(a, b) { num += (x - y) * (x - y); den += y * y }
        return (num / den).squareRoot()
    }

    @Test(arguments: ActivationQuantization.allCases)
    func quantizerMatchesReference(scheme: ActivationQuantization) throws {
        let w = Self.data([4, 37], seed: 1)
        let q = try QuantizedMatrix(weight: w, activations: scheme)
        var x = Self.realistic(9, 37, seed: 2).scalars
        for i in 0..<37 { x[3 * 37 + i] = 0 }            // an all-zero row
        for i in 0..<37 { x[5 * 37 + i] = abs(x[5 * 37 + i]) }  // a positive row
        let input = Tensor(shape: [9, 37], scalars: x)
        let fast = q.quantizeRows(input), slow = q.referenceQuantizeRows(input)
        #expect(fast.codes == slow.codes)
        #expect(fast.scales == slow.scales)
        #expect(fast.zeros == slow.zeros)
        #expect(fast.codes.allSatisfy { Int32($0) <= QuantizedMatrix.activationMax })
    }

    @Test(arguments: shapes)
    func oneDNNProductIsExact(shape: (Int, Int, Int)) throws {
        let (m, k, n) = shape
        for fixedRowsUpTo in [0, Int.max] {
            let q = try QuantizedMatrix(weight: Self.data([n, k], seed: 3, std: 0.05), fixedRowsUpTo: fixedRowsUpTo)
            let codes = q.quantizeRows(Self.realistic(m, k, seed: 4))
            #expect(try q.oneDNNIntegerProduct(codes, rows: m) == q.referenceIntegerProduct(codes.codes, rows: m), "\(shape)")
        }
    }

    /// The extremes: every code at its largest magnitude, where 16-bit pair sums would saturate with 8-bit codes
    /// on kernels without VNNI (`activationMax` is 127 there).
    @Test func extremeCodesDoNotSaturate() throws {
        let (m, k, n) = (4, 256, 64)
        var codes = [Int8](repeating: 127, count: n * k)
        for i in stride(from: 0, to: codes.count, by: 3) { codes[i] = -127 }
        let q = try QuantizedMatrix(codes: codes, scales: [Float](repeating: 1, count: n), shape: [n, k])
        for top in Set([QuantizedMatrix.activationMax, 127]) {
            q.codeMax = top
            let rows = QuantizedRows(codes: [UInt8](repeating: UInt8(top), count: m * k), scales: [Float](repeating: 1, count: m),
                                     zeros: [Int32](repeating: 0, count: m))
            #expect(try q.oneDNNIntegerProduct(rows, rows: m) == q.referenceIntegerProduct(rows.codes, rows: m), "codes up to \(top)")
        }
    }

    @Test(arguments: shapes)
    func matmulMatchesReferenceLoop(shape: (Int, Int, Int)) throws {
        let (m, k, n) = shape
        let w = Self.data([n, k], seed: 5, std: 0.05), bias = Self.data([n], seed: 6)
        let q = try QuantizedMatrix(weight: w, bias: bias)
        let x = Self.realistic(m, k, seed: 7)
        let saved = Threads.count
        defer { Threads.count = saved }
        Threads.count = 2
        let two = q.matmul(x)
        Threads.count = 1
        let one = q.matmul(x)
        #expect(two.shape == [m, n])
        #expect(two.scalars == one.scalars, "threads must not change the result")
        assertClose(two, q.referenceMatmul(x), rtol: 1e-5, atol: 1e-5)
    }

    /// int8 against the Float product: relative Frobenius error bounds, about 1.3× the largest measured
    /// (int8-gemm-bench's quality table; 8-bit codes: asymmetric ≤ 0.011 random, ≤ 0.033 realistic; symmetric ≤ 0.012,
    /// ≤ 0.047; 7-bit codes without VNNI: asymmetric ≤ 0.018, ≤ 0.066; symmetric ≤ 0.019, ≤ 0.087).
    @Test(arguments: ActivationQuantization.allCases)
    func errorAgainstFloatIsBounded(scheme: ActivationQuantization) throws {
        let eightBit = QuantizedMatrix.activationMax == 255, symmetric = scheme == .symmetricPerRow
        let randomBound: Float = eightBit ? 0.015 : 0.025
        let realisticBound: Float = eightBit ? (symmetric ? 0.062 : 0.044) : (symmetric ? 0.115 : 0.088)
        for (m, k, n) in [(32, 256, 1024), (40, 384, 1536), (32, 1536, 384)] {
            let w = Self.data([n, k], seed: 8, std: 0.05)
            let q = try QuantizedMatrix(weight: w, activations: scheme)
            for (label, x, bound) in [("random", Self.data([m, k], seed: 9), randomBound), ("realistic", Self.realistic(m, k, seed: 10), realisticBound)] {
                let error = Self.relativeError(q.matmul(x).scalars, x.matmul(w, transposeOther: true).scalars)
                #expect(error < bound, "\(scheme) \(label) [\(m), \(k)]·[\(n), \(k)]ᵀ: relative error \(error)")
            }
        }
    }

    @Test func leadingDimensionsAndEmptyInput() throws {
        let q = try QuantizedMatrix(weight: Self.data([6, 8], seed: 11))
        let x = Self.data([2, 3, 8], seed: 12)
        let y = q.matmul(x)
        #expect(y.shape == [2, 3, 6])
        assertClose(y, q.referenceMatmul(x), rtol: 1e-5, atol: 1e-5)
        #expect(q.matmul(Tensor(shape: [0, 8], scalars: [])).shape == [0, 6])
    }

    @Test func badShapesThrow() {
        #expect(throws: QuantizationError.self) { try QuantizedMatrix(weight: Tensor(shape: [4], scalars: [1, 2, 3, 4])) }
        #expect(throws: QuantizationError.self) { try QuantizedMatrix(weight: Self.data([3, 4], seed: 1), bias: Self.data([4], seed: 2)) }
        #expect(throws: QuantizationError.self) { try QuantizedMatrix(codes: [1, 2], scales: [1], shape: [1, 3]) }
        #expect(throws: QuantizationError.self) { try QuantizedMatrix(codes: [-128, 2], scales: [1], shape: [1, 2]) }
    }

    @Test func dequantizedWeightIsClose() throws {
        let w = Self.data([16, 64], seed: 13)
        let q = try QuantizedMatrix(weight: w)
        let maxAbs = w.scalars.map(abs).max() ?? 1
        assertClose(q.dequantized().scalars, w.scalars, rtol: 0, atol: maxAbs / 127 / 2 * 1.001)
    }
}
