// int8-gemm-bench: oneDNN u8·s8→s32 (QuantizedMatrix, quantization and dequantization included) against
// OpenBLAS fp32 (BLAS.gemm) at Glossa's inference shapes, 1 and 2 threads, the cost of a new per-M primitive,
// a quality table and a saturation probe of the 8-bit path.
// Usage: swift run -c release int8-gemm-bench [--seconds S] [--shapes decode,encoder,minilm,quality]
//        [--threads 1,2] [--int8-only] [--check]
// ONEDNN_MAX_CPU_ISA=AVX2 shows the kernels of a CPU without AVX-512 (7-bit activation codes there).
import CDNNL
import Foundation
import GlossaTensor

struct Shape { let group: String, m: Int, k: Int, n: Int }
let shapes: [Shape] = [
    .init(group: "decode", m: 4, k: 256, n: 8000), .init(group: "decode", m: 32, k: 256, n: 8000),
    .init(group: "decode", m: 128, k: 256, n: 8000), .init(group: "decode", m: 32, k: 256, n: 1024),
    .init(group: "decode", m: 32, k: 1024, n: 256), .init(group: "decode", m: 32, k: 256, n: 256),
    .init(group: "encoder", m: 1536, k: 256, n: 1024), .init(group: "encoder", m: 1536, k: 1024, n: 256),
    .init(group: "minilm", m: 1280, k: 384, n: 1536), .init(group: "minilm", m: 1280, k: 1536, n: 384),
]

nonisolated(unsafe) var seconds = 0.3
var threadCounts = [1, 2]
var int8Only = false
var groups: Set<String> = ["decode", "encoder", "minilm"]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--seconds": seconds = arguments.next().flatMap(Double.init) ?? seconds
    case "--check": break
    case "--threads": threadCounts = (arguments.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--int8-only": int8Only = true
    case "--shapes": groups = Set((arguments.next() ?? "").split(separator: ",").map(String.init))
    default: print("unknown argument \(argument)"); exit(2)
    }
}

/// Seconds per call: the median of batches of calls filling `seconds` (one warm-up call first).
@MainActor func time(_ body: () -> Void) -> Double {
    body()
    var samples: [Double] = []
    let start = Date()
    while Date().timeIntervalSince(start) < seconds || samples.count < 3 {
        let t = Date()
        body()
        samples.append(Date().timeIntervalSince(t))
    }
    samples.sort()
    return samples[samples.count / 2]
}

var generator = SeededGenerator(seed: 14)
print("machine shared with other jobs: compare ratios within one run, not absolute figures")
print("shape               threads  fp32 GFLOP/s  int8 GOP/s (runtime M)  int8 GOP/s (per-M)  int8/fp32   impl")
for shape in shapes where groups.contains(shape.group) {
    let x = Tensor.normal([shape.m, shape.k], std: 1, using: &generator)
    let w = Tensor.normal([shape.n, shape.k], std: 0.05, using: &generator)
    guard let runtime = try? QuantizedMatrix(weight: w, fixedRowsUpTo: 0),
          let perM = try? QuantizedMatrix(weight: w, fixedRowsUpTo: .max) else { print("oneDNN refused \(shape)"); continue }
    let ops = 2.0 * Double(shape.m * shape.k * shape.n)
    for threads in threadCounts {
        BLAS.setThreads(threads)
        var c = [Float](repeating: 0, count: shape.m * shape.n)
        let fp32 = int8Only ? .nan : time {
            x.scalars.withUnsafeBufferPointer { a in w.scalars.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { pc in
                BLAS.gemm(a.baseAddress!, b.baseAddress!, pc.baseAddress!, m: shape.m, n: shape.n, k: shape.k, transA: false, transB: true)
            } } }
        }
        let int8Runtime = time { _ = runtime.matmul(x) }
        let int8PerM = time { _ = perM.matmul(x) }
        let name = "\(shape.group) \(shape.m)x\(shape.k)x\(shape.n)".padding(toLength: 22, withPad: " ", startingAt: 0)
        print(name + String(format: "%4d %13.1f %23.1f %19.1f %10.2f   %@", threads, ops / fp32 / 1e9, ops / int8Runtime / 1e9,
                            ops / int8PerM / 1e9, fp32 / min(int8Runtime, int8PerM), runtime.implementation(rows: shape.m) ?? "?"))
    }
}

if CommandLine.arguments.contains("--check") {
    let x = Tensor.normal([32, 256], std: 1, using: &generator), w = Tensor.normal([8000, 256], std: 0.05, using: &generator)
    let q = try QuantizedMatrix(weight: w)
    let t0 = Date(), c0 = clock()
    var y = q.matmul(x)
    for _ in 0..<200 { y = q.matmul(x) }
    let wall = Date().timeIntervalSince(t0), cpu = Double(clock() - c0) / Double(CLOCKS_PER_SEC)
    let ref = x.matmul(w, transposeOther: true)
    var e: Float = 0, d: Float = 0
    for (a, b) in zip(y.scalars, ref.scalars) { e += (a - b) * (a - b); d += b * b }
    print("check: 201 calls wall \(wall) s cpu \(cpu) s, GOP/s by wall \(201 * 2 * 32 * 256 * 8000 / wall / 1e9), rel error \((e / d).squareRoot())")
}

// The cost of a primitive for a new row count (per-M caching) against one call at that shape.
if groups.contains("decode") {
    let w = Tensor.normal([8000, 256], std: 0.05, using: &generator)
    if let q = try? QuantizedMatrix(weight: w, fixedRowsUpTo: .max) {
        BLAS.setThreads(1)
        var made = 0.0
        for m in 1...20 {
            let x = Tensor.normal([m, 256], std: 1, using: &generator)
            let t = Date(); _ = q.matmul(x); made += Date().timeIntervalSince(t)
        }
        let x = Tensor.normal([20, 256], std: 1, using: &generator)
        let warm = time { _ = q.matmul(x) }
        print(String(format: "per-M primitives, [M, 256]·[8000, 256]ᵀ, 1 thread: first call at a new M %.3f ms on average (M = 1...20), a cached call at M = 20 %.3f ms", made / 20 * 1e3, warm * 1e3))
    }
}

// Quality: relative Frobenius error of int8 against fp32 on random data and on transformer-like activations
// (a few channels 20× larger, every other row after GELU), for both activation schemes.
@MainActor func realistic(_ m: Int, _ k: Int) -> Tensor {
    var values = Tensor.normal([m, k], std: 1, using: &generator).scalars
    for row in 0..<m {
        for i in stride(from: 7, to: k, by: 97) { values[row * k + i] *= 20 }
        if row % 2 == 1 { for i in 0..<k { let v = values[row * k + i]; let g: Float = erf(v * 0.70710678); values[row * k + i] = 0.5 * v * (1 + g) } }
    }
    return Tensor(shape: [m, k], scalars: values)
}
print("quality at activation codes 0...\(QuantizedMatrix.activationMax): relative error of int8 against fp32")
for (m, k, n) in [(32, 256, 1024), (40, 384, 1536), (32, 1536, 384)] where groups.contains("quality") || groups.count == 3 {
    let w = Tensor.normal([n, k], std: 0.05, using: &generator)
    for (label, x) in [("random", Tensor.normal([m, k], std: 1, using: &generator)), ("realistic", realistic(m, k))] {
        let exact = x.matmul(w, transposeOther: true).scalars
        var line = "  \(m)x\(k)x\(n) \(label):"
        for scheme in ActivationQuantization.allCases {
            guard let q = try? QuantizedMatrix(weight: w, activations: scheme) else { continue }
            var e: Float = 0, d: Float = 0
            for (a, b) in zip(q.matmul(x).scalars, exact) { e += (a - b) * (a - b); d += b * b }
            line += String(format: " %@ %.4f", "\(scheme)", (e / d).squareRoot())
        }
        print(line)
    }
}

// Saturation probe: u8 codes 255 against s8 codes 127 through dnnl_gemm_u8s8s32 (the kernel the matmul
// primitive uses without VNNI). Exact: K·255·127.
for (a, label) in [(UInt8(255), "8-bit activation codes (255)"), (UInt8(127), "7-bit activation codes (127)")] {
    let k = 256
    let codesA = [UInt8](repeating: a, count: k), codesB = [Int8](repeating: 127, count: k)
    var c: Int32 = 0
    _ = dnnl_gemm_u8s8s32(CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "F")), 1, 1, Int64(k), 1,
                          codesA, Int64(k), 0, codesB, 1, 0, 0, &c, 1, [0])
    print("saturation probe, \(label): oneDNN \(c), exact \(k * Int(a) * 127)")
}
