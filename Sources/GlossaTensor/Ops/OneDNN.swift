import CDNNL
import CGlossaKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A oneDNN call that failed: which call, and oneDNN's status code (`dnnl_status_t`).
public struct OneDNNError: Error, CustomStringConvertible, Sendable {
    /// The C function that returned the status.
    public let call: String
    /// oneDNN's status code (`dnnl_success` is 0; 3 is `dnnl_unimplemented`).
    public let status: Int32
    public var description: String { "oneDNN \(call) failed with status \(status)" }
}

/// Process-wide oneDNN state: one CPU engine and a pool of streams. Debian builds libdnnl with the OpenMP
/// runtime; Glossa asks OpenMP for one thread on every thread that calls oneDNN, so each call runs on the
/// calling thread and Glossa's own workers (`parallelChunks`) split large products, as for OpenBLAS.
enum OneDNN {
    static func check(_ status: dnnl_status_t, _ call: String) throws(OneDNNError) {
        guard status == dnnl_success else { throw OneDNNError(call: call, status: Int32(status.rawValue)) }
    }

    /// The CPU engine, made on first use.
    static func engine() throws(OneDNNError) -> dnnl_engine_t {
        switch sharedEngine {
        case .success(let engine): return engine
        case .failure(let error): throw error
        }
    }

    nonisolated(unsafe) private static let sharedEngine: Result<dnnl_engine_t, OneDNNError> = {
        singleOpenMPThread()
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else {
            return .failure(OneDNNError(call: "dnnl_engine_create", status: Int32(status.rawValue)))
        }
        return .success(engine)
    }()

    /// Whether oneDNN runs VNNI kernels here (AVX-512 VNNI or later: the `0x40` bit of `dnnl_cpu_isa_t`), whose
    /// u8·s8 products accumulate in 32 bits; AVX2 VNNI is treated as absent (not measured).
    static let hasVNNI: Bool = (dnnl_get_effective_cpu_isa().rawValue & 0x40) != 0

    private typealias SetThreads = @convention(c) (Int32) -> Void
    /// `omp_set_num_threads` from the libgomp that libdnnl loaded (looked up, so Glossa links no OpenMP itself).
    private static let ompSetNumThreads: SetThreads? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads") else { return nil }
        return unsafeBitCast(symbol, to: SetThreads.self)
    }()

    /// OpenMP's thread count is a per-thread setting: every thread that creates or runs a primitive sets it to 1
    /// first, so oneDNN never starts a team of its own.
    static func singleOpenMPThread() { ompSetNumThreads?(1) }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var idleStreams: [dnnl_stream_t] = []

    /// Runs `body` with a stream no other thread is using (streams are reused across calls).
    static func withStream<R>(_ body: (dnnl_stream_t) throws(OneDNNError) -> R) throws(OneDNNError) -> R {
        lock.lock()
        var stream = idleStreams.popLast()
        lock.unlock()
        if stream == nil {
            var made: dnnl_stream_t?
            try check(dnnl_stream_create(&made, try engine(), UInt32(dnnl_stream_default_flags.rawValue)), "dnnl_stream_create")
            stream = made
        }
        guard let stream else { throw OneDNNError(call: "dnnl_stream_create", status: -1) }
        defer { lock.lock(); idleStreams.append(stream); lock.unlock() }
        return try body(stream)
    }

    /// A plain 2-D memory descriptor with explicit strides (`dims[0]` may be `CDNNL_RUNTIME_DIM`).
    static func matrix(_ rows: Int, _ cols: Int, strides: (Int, Int), _ type: dnnl_data_type_t) throws(OneDNNError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
        var st: [dnnl_dim_t] = [dnnl_dim_t(strides.0), dnnl_dim_t(strides.1)]
        try check(dnnl_memory_desc_init_by_strides(&md, 2, &dims, type, &st), "dnnl_memory_desc_init_by_strides")
        return md
    }

    /// A 2-D memory descriptor by format tag (`dnnl_format_tag_any` lets the primitive choose).
    static func matrix(_ rows: Int, _ cols: Int, tag: dnnl_format_tag_t, _ type: dnnl_data_type_t) throws(OneDNNError) -> dnnl_memory_desc_t {
        var md = dnnl_memory_desc_t()
        var dims: [dnnl_dim_t] = [dnnl_dim_t(rows), dnnl_dim_t(cols)]
        try check(dnnl_memory_desc_init_by_tag(&md, 2, &dims, type, tag), "dnnl_memory_desc_init_by_tag")
        return md
    }

    /// A memory object over `data` (not owned).
    static func memory(_ md: dnnl_memory_desc_t, _ data: UnsafeMutableRawPointer?) throws(OneDNNError) -> dnnl_memory_t {
        var md = md
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &md, try engine(), data), "dnnl_memory_create")
        guard let memory else { throw OneDNNError(call: "dnnl_memory_create", status: -1) }
        return memory
    }

    /// Copies `data` laid out as `from` into `to`'s layout (weights into the layout a primitive asked for).
    static func reorder(_ data: UnsafeMutableRawPointer, from: dnnl_memory_desc_t, into out: UnsafeMutableRawPointer, to: dnnl_memory_desc_t) throws(OneDNNError) {
        var from = from, to = to
        let engine = try engine()
        singleOpenMPThread()
        var pd: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&pd, &from, engine, &to, engine, nil), "dnnl_reorder_primitive_desc_create")
        defer { dnnl_primitive_desc_destroy(pd) }
        var primitive: dnnl_primitive_t?
        try check(dnnl_primitive_create(&primitive, pd), "dnnl_primitive_create(reorder)")
        defer { dnnl_primitive_destroy(primitive) }
        let source = try memory(from, data)
        defer { dnnl_memory_destroy(source) }
        let target = try memory(to, out)
        defer { dnnl_memory_destroy(target) }
        var args = [dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_FROM), memory: source),
                    dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_TO), memory: target)]
        try withStream { stream throws(OneDNNError) in
            try check(dnnl_primitive_execute(primitive, stream, 2, &args), "dnnl_primitive_execute(reorder)")
            try check(dnnl_stream_wait(stream), "dnnl_stream_wait")
        }
    }
}

/// One u8·s8→s32 matmul primitive and the scratchpad size it needs (user-managed, so concurrent runs of the
/// same primitive never share a buffer).
final class OneDNNMatmul: @unchecked Sendable {
    let primitive: dnnl_primitive_t
    let scratchpadSize: Int
    /// The implementation oneDNN chose (e.g. "gemm:jit"), for benchmarks.
    let implementation: String
    /// The weights layout the primitive asked for.
    let weightsDesc: dnnl_memory_desc_t

    /// src `[rows, k]` u8 (row stride `k`), weights `[k, n]` as `weights`, dst `[rows, n]` s32 (row stride `ldc`).
    /// `rows` may be `CDNNL_RUNTIME_DIM`.
    init(rows: Int, k: Int, n: Int, ldc: Int, weights: dnnl_memory_desc_t) throws(OneDNNError) {
        let engine = try OneDNN.engine()
        OneDNN.singleOpenMPThread()
        var src = try OneDNN.matrix(rows, k, strides: (k, 1), dnnl_u8)
        var wei = weights
        var dst = try OneDNN.matrix(rows, n, strides: (ldc, 1), dnnl_s32)
        var desc = dnnl_matmul_desc_t()
        try OneDNN.check(dnnl_matmul_desc_init(&desc, &src, &wei, nil, &dst), "dnnl_matmul_desc_init")
        var attr: dnnl_primitive_attr_t?
        try OneDNN.check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attr) }
        try OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user), "dnnl_primitive_attr_set_scratchpad_mode")
        var pd: dnnl_primitive_desc_t?
        try OneDNN.check(withUnsafePointer(to: &desc) { dnnl_primitive_desc_create(&pd, UnsafeRawPointer($0), attr, engine, nil) },
                         "dnnl_primitive_desc_create(matmul)")
        defer { dnnl_primitive_desc_destroy(pd) }
        guard let weightsMD = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0),
              let scratchMD = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0)
        else { throw OneDNNError(call: "dnnl_primitive_desc_query_md", status: -1) }
        weightsDesc = weightsMD.pointee
        var scratch = scratchMD.pointee
        scratchpadSize = dnnl_memory_desc_get_size(&scratch)
        var info: UnsafePointer<CChar>?
        _ = dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info)
        implementation = info.map { String(cString: $0) } ?? "?"
        var made: dnnl_primitive_t?
        try OneDNN.check(dnnl_primitive_create(&made, pd), "dnnl_primitive_create(matmul)")
        guard let made else { throw OneDNNError(call: "dnnl_primitive_create(matmul)", status: -1) }
        primitive = made
    }

    deinit { dnnl_primitive_destroy(primitive) }

    /// C[rows, n] = A[rows, k]·W on the calling thread. `src`/`dst` describe the actual rows (needed when the
    /// primitive was made with a runtime row count).
    func run(a: UnsafeMutableRawPointer, src: dnnl_memory_desc_t, w: UnsafeMutableRawPointer, weights: dnnl_memory_desc_t,
             c: UnsafeMutableRawPointer, dst: dnnl_memory_desc_t) throws(OneDNNError) {
        OneDNN.singleOpenMPThread()
        let srcMem = try OneDNN.memory(src, a)
        defer { dnnl_memory_destroy(srcMem) }
        let weiMem = try OneDNN.memory(weights, w)
        defer { dnnl_memory_destroy(weiMem) }
        let dstMem = try OneDNN.memory(dst, c)
        defer { dnnl_memory_destroy(dstMem) }
        // The running thread's scratch (slot 3), kept across calls; allocated only if that fails.
        let reused = scratchpadSize > 0 ? gk_thread_scratch(3, scratchpadSize) : nil
        let owned = scratchpadSize > 0 && reused == nil ? UnsafeMutableRawPointer.allocate(byteCount: scratchpadSize, alignment: 64) : nil
        defer { owned?.deallocate() }
        let scratch = reused ?? owned
        var args = [dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_SRC), memory: srcMem),
                    dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_WEIGHTS), memory: weiMem),
                    dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_DST), memory: dstMem)]
        var scratchMem: dnnl_memory_t?
        if let scratch {
            var md = dnnl_memory_desc_t()
            var dims: [dnnl_dim_t] = [dnnl_dim_t(scratchpadSize)]
            try OneDNN.check(dnnl_memory_desc_init_by_tag(&md, 1, &dims, dnnl_u8, dnnl_a), "dnnl_memory_desc_init_by_tag")
            let mem = try OneDNN.memory(md, scratch)
            scratchMem = mem
            args.append(dnnl_exec_arg_t(arg: Int32(CDNNL_ARG_SCRATCHPAD), memory: mem))
        }
        defer { if let scratchMem { dnnl_memory_destroy(scratchMem) } }
        let count = Int32(args.count)
        try OneDNN.withStream { stream throws(OneDNNError) in
            try OneDNN.check(dnnl_primitive_execute(primitive, stream, count, &args), "dnnl_primitive_execute(matmul)")
            try OneDNN.check(dnnl_stream_wait(stream), "dnnl_stream_wait")
        }
    }
}
