import CDNNL
import CGlossaKernels
import Foundation

/// How `QuantizedMatrix` quantizes activations before the integer product: per row (token), to unsigned 8-bit
/// codes with a scale and a zero point found from that row alone at call time.
public enum ActivationQuantization: Sendable, CaseIterable {
    /// The row's [min, max] (with 0 included) onto the codes: no code is wasted on one-sided rows (after GELU).
    case asymmetricPerRow
    /// ±max|x| onto the codes around a zero point in the middle.
    case symmetricPerRow
}

/// Why a `QuantizedMatrix` could not be made.
public enum QuantizationError: Error, CustomStringConvertible, Sendable {
    /// The weight is not `[N, K]`, or the bias, scales or codes do not match it.
    case shape(String)
    /// oneDNN refused a primitive or a reorder.
    case oneDNN(OneDNNError)

    public var description: String {
        switch self {
        case .shape(let text): return "cannot quantize: \(text)"
        case .oneDNN(let error): return error.description
        }
    }
}

/// A weight `[N, K]` (as `Linear` stores it) quantized symmetrically per output channel to int8 with one Float
/// scale per channel, for products y = x·Wᵀ (+ bias) with x `[M, K]` in Float.
///
/// `matmul` quantizes x per row to u8 codes (`ActivationQuantization`), runs the u8·s8→s32 product through
/// oneDNN with the weights reordered once into the layout oneDNN chose, and dequantizes:
/// y[m, n] = sx[m]·sw[n]·(C[m, n] − zx[m]·Σₖ qw[n, k]) + bias[n]. Activation codes use 8 bits (0…255) where
/// oneDNN runs VNNI kernels (AVX-512 VNNI) and 7 bits (0…127) otherwise: without VNNI, oneDNN adds pairs of u8·s8
/// products in 16 bits (`vpmaddubsw`), which saturates with 8-bit codes (255·127·2 > 32767) but never with 7-bit
/// ones (measured: `ONEDNN_MAX_CPU_ISA=AVX2` makes the 8-bit product inexact). `referenceMatmul` is the plain loop
/// of the same arithmetic, the oracle of the tests.
public final class QuantizedMatrix: @unchecked Sendable {
    /// N.
    public let outFeatures: Int
    /// K.
    public let inFeatures: Int
    /// The int8 codes `[N, K]`, row-major, in −127…127.
    public let codes: [Int8]
    /// One scale per output channel: W[n, k] ≈ scales[n]·codes[n, k].
    public let scales: [Float]
    /// `[N]`, or `nil`.
    public let bias: [Float]?
    /// How activations are quantized.
    public let activations: ActivationQuantization
    /// The largest activation code: 255 with VNNI kernels, 127 without (see the type's note on saturation).
    public static let activationMax: Int32 = OneDNN.hasVNNI ? 255 : 127
    /// The largest activation code this matrix uses (`activationMax`; tests and benchmarks try 255 to show the
    /// saturation).
    nonisolated(unsafe) var codeMax: Int32 = QuantizedMatrix.activationMax

    /// Σₖ codes[n, k], for the zero-point correction.
    let codeSums: [Int32]
    /// The weights in the layout oneDNN chose (owned; 64-byte aligned).
    let packed: UnsafeMutableRawPointer
    let packedDesc: dnnl_memory_desc_t
    /// The chosen layout when it is a plain one (`ba`: column n of Wᵀ at n·K; `ab`: row k of Wᵀ at k·N), so column
    /// ranges are strided views; nil for blocked layouts (then products are split by rows only).
    let packedPlain: dnnl_format_tag_t?
    /// Products of up to this many rows get a primitive made for their row count (cached: decoding repeats the
    /// same few counts every step); longer ones share one primitive with a runtime row count (encoders see a new
    /// count with every batch, and a new primitive costs about ten small products).
    public let fixedRowsUpTo: Int
    private let lock = NSLock()
    nonisolated(unsafe) private var primitives: [PrimitiveKey: OneDNNMatmul] = [:]

    struct PrimitiveKey: Hashable { let rows: Int, lo: Int, hi: Int }

    /// Quantizes a Float weight `[N, K]` (and an optional bias `[N]`).
    public convenience init(weight: Tensor, bias: Tensor? = nil, activations: ActivationQuantization = .asymmetricPerRow,
                            fixedRowsUpTo: Int = 64) throws(QuantizationError) {
        guard weight.rank == 2 else { throw .shape("the weight must be [N, K], got \(weight.shape)") }
        let n = weight.shape[0], k = weight.shape[1]
        var codes = [Int8](repeating: 0, count: n * k), scales = [Float](repeating: 1, count: n)
        weight.scalars.withUnsafeBufferPointer { w in
            for row in 0..<n {
                var amax: Float = 0
                for i in 0..<k { amax = Swift.max(amax, abs(w[row * k + i])) }
                let scale = amax > 0 ? amax / 127 : 1
                scales[row] = scale
                let inverse = 1 / scale
                for i in 0..<k {
                    codes[row * k + i] = Int8(Swift.min(127, Swift.max(-127, (w[row * k + i] * inverse).rounded(.toNearestOrEven))))
                }
            }
        }
        try self.init(codes: codes, scales: scales, shape: [n, k], bias: bias?.scalars, activations: activations, fixedRowsUpTo: fixedRowsUpTo)
    }

    /// Wraps codes already quantized (a saved int8 checkpoint): `codes` `[N, K]`, `scales` `[N]`, `bias` `[N]`.
    public init(codes: [Int8], scales: [Float], shape: [Int], bias: [Float]? = nil,
                activations: ActivationQuantization = .asymmetricPerRow, fixedRowsUpTo: Int = 64) throws(QuantizationError) {
        guard shape.count == 2, shape[0] > 0, shape[1] > 0 else { throw .shape("the weight must be [N, K] with N, K > 0, got \(shape)") }
        let n = shape[0], k = shape[1]
        guard codes.count == n * k else { throw .shape("\(codes.count) codes for a [\(n), \(k)] weight") }
        guard scales.count == n else { throw .shape("\(scales.count) scales for \(n) output channels") }
        guard bias.map({ $0.count == n }) ?? true else { throw .shape("bias of \(bias?.count ?? 0) for \(n) output channels") }
        guard codes.allSatisfy({ $0 != -128 }) else { throw .shape("codes must lie in -127...127") }
        outFeatures = n
        inFeatures = k
        self.codes = codes
        self.scales = scales
        self.bias = bias
        self.activations = activations
        self.fixedRowsUpTo = fixedRowsUpTo
        var sums = [Int32](repeating: 0, count: n)
        for row in 0..<n { var s: Int32 = 0; for i in 0..<k { s += Int32(codes[row * k + i]) }; sums[row] = s }
        codeSums = sums
        do throws(OneDNNError) {
            // Wᵀ is [K, N]; our [N, K] rows are its columns: the plain layout `ba`.
            let plain = try OneDNN.matrix(k, n, tag: dnnl_ba, dnnl_s8)
            let any = try OneDNN.matrix(k, n, tag: dnnl_format_tag_any, dnnl_s8)
            let probe = try OneDNNMatmul(rows: Int(CDNNL_RUNTIME_DIM), k: k, n: n, ldc: n, weights: any)
            var chosen = probe.weightsDesc, plainDesc = plain, rowsDesc = try OneDNN.matrix(k, n, tag: dnnl_ab, dnnl_s8)
            packedDesc = chosen
            packedPlain = dnnl_memory_desc_equal(&chosen, &plainDesc) != 0 ? dnnl_ba
                : dnnl_memory_desc_equal(&chosen, &rowsDesc) != 0 ? dnnl_ab : nil
            let size = dnnl_memory_desc_get_size(&chosen)
            packed = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(size, 1), alignment: 64)
            var source = codes
            let reordered: Result<Void, OneDNNError> = source.withUnsafeMutableBytes { raw in
                guard let base = raw.baseAddress else { return .success(()) }
                return Result { () throws(OneDNNError) in try OneDNN.reorder(base, from: plain, into: packed, to: chosen) }
            }
            if case .failure(let error) = reordered {
                packed.deallocate()
                throw error
            }
        } catch {
            throw .oneDNN(error)
        }
    }

    deinit { packed.deallocate() }

    /// The weight back in Float, `[N, K]`: scales[n]·codes[n, k].
    public func dequantized() -> Tensor {
        var values = [Float](repeating: 0, count: outFeatures * inFeatures)
        for n in 0..<outFeatures { for k in 0..<inFeatures { values[n * inFeatures + k] = scales[n] * Float(codes[n * inFeatures + k]) } }
        return Tensor(shape: [outFeatures, inFeatures], scalars: values)
    }

    /// The name of oneDNN's implementation for a product of `rows` rows (for benchmarks), or nil if none.
    public func implementation(rows: Int) -> String? {
        try? primitive(rows: rows, lo: 0, hi: outFeatures).implementation
    }

    /// The primitive for `rows` rows and output columns lo..<hi, made on first use.
    func primitive(rows: Int, lo: Int, hi: Int) throws(OneDNNError) -> OneDNNMatmul {
        let runtimeRows = rows > fixedRowsUpTo
        let key = PrimitiveKey(rows: runtimeRows ? -1 : rows, lo: lo, hi: hi)
        lock.lock()
        if let found = primitives[key] { lock.unlock(); return found }
        lock.unlock()
        let made = try OneDNNMatmul(rows: runtimeRows ? Int(CDNNL_RUNTIME_DIM) : rows, k: inFeatures, n: hi - lo,
                                    ldc: outFeatures, weights: try weightsDesc(lo: lo, hi: hi))
        lock.lock()
        defer { lock.unlock() }
        // Row counts vary (batches of sentences): keep the cache bounded.
        if primitives.count >= 256 { primitives.removeAll() }
        primitives[key] = made
        return made
    }

    /// The weights of columns lo..<hi: the packed layout for all of them, a strided view of a plain one otherwise.
    func weightsDesc(lo: Int, hi: Int) throws(OneDNNError) -> dnnl_memory_desc_t {
        if lo == 0 && hi == outFeatures { return packedDesc }
        let strides = packedPlain == dnnl_ab ? (outFeatures, 1) : (1, inFeatures)
        return try OneDNN.matrix(inFeatures, hi - lo, strides: strides, dnnl_s8)
    }

    /// Where column `lo` of the packed weights starts (plain layouts only).
    func weightsOffset(_ lo: Int) -> Int { packedPlain == dnnl_ab ? lo : lo * inFeatures }
}
