import CMPI
import Foundation

/// The ranks of an `mpirun` job, over Open MPI's `MPI_COMM_WORLD`. Made once per process (`Communicators.world()`);
/// MPI is finalised when the process exits. Calls come from one thread at a time (the training loop).
final class MPICommunicator: Communicator, @unchecked Sendable {
    let rank: Int
    let size: Int
    let localSize: Int
    let engine: String
    private let world: MPI_Comm

    init() {
        var provided: Int32 = 0
        MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided)
        // mpirun counts a process that exits without MPI_Finalize as failed.
        atexit { glossaFinalizeMPI() }
        world = glossa_mpi_comm_world()
        var value: Int32 = 0
        MPI_Comm_rank(world, &value)
        rank = Int(value)
        MPI_Comm_size(world, &value)
        size = Int(value)
        localSize = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init) ?? 1
        var text = [CChar](repeating: 0, count: Int(MPI_MAX_LIBRARY_VERSION_STRING) + 1)
        var length: Int32 = 0
        MPI_Get_library_version(&text, &length)
        let version = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        engine = version.split(separator: ",").first.map(String.init) ?? "MPI"
    }

    func check(_ status: Int32, _ what: String) throws {
        guard status == MPI_SUCCESS else { throw GlossaError.training("\(what) failed on rank \(rank) (MPI error \(status))") }
    }

    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> any CommunicationRequest {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return CompletedRequest() }
        guard buffer.count <= Int(Int32.max) else { throw GlossaError.training("an all-reduce bucket of \(buffer.count) floats is too large") }
        let request = MPIRequest(owner: self)
        try check(MPI_Iallreduce(glossa_mpi_in_place(), base, Int32(buffer.count), glossa_mpi_float(), glossa_mpi_sum(), world, &request.handle),
                  "MPI_Iallreduce")
        return request
    }

    func allReduceSum(_ values: inout [Double]) throws {
        let count = Int32(values.count)
        try values.withUnsafeMutableBufferPointer { buffer in
            var request: MPI_Request?
            try check(MPI_Iallreduce(glossa_mpi_in_place(), buffer.baseAddress, count, glossa_mpi_double(), glossa_mpi_sum(), world, &request),
                      "MPI_Iallreduce")
            // Spin briefly (ranks usually arrive together), then poll asleep: a rank waiting for rank 0's validation
            // leaves its core to it instead of spinning in MPI_Wait.
            let start = Date().timeIntervalSince1970
            var done: Int32 = 0
            while true {
                try check(MPI_Test(&request, &done, glossa_mpi_status_ignore()), "MPI_Test")
                if done != 0 { break }
                if Date().timeIntervalSince1970 - start > 0.002 { usleep(200) }
            }
        }
    }

    func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        // The length first, so the others can make room; then the bytes in pieces an Int32 count can name.
        var length = [Int64(bytes.count)]
        try length.withUnsafeMutableBytes { raw in
            try check(MPI_Bcast(raw.baseAddress, Int32(raw.count), glossa_mpi_byte(), Int32(root), world), "MPI_Bcast")
        }
        if rank != root { bytes = [UInt8](repeating: 0, count: Int(length[0])) }
        let piece = 1 << 30
        try bytes.withUnsafeMutableBufferPointer { buffer in
            var offset = 0
            while offset < buffer.count {
                let count = Swift.min(piece, buffer.count - offset)
                try check(MPI_Bcast(buffer.baseAddress! + offset, Int32(count), glossa_mpi_byte(), Int32(root), world), "MPI_Bcast")
                offset += count
            }
        }
    }

    func barrier() throws {
        try check(MPI_Barrier(world), "MPI_Barrier")
    }

    func abort(code: Int32) -> Never {
        MPI_Abort(world, code)
        exit(code)
    }
}

/// An `MPI_Iallreduce` under way.
final class MPIRequest: CommunicationRequest {
    let owner: MPICommunicator
    var handle: MPI_Request?
    var done = false

    init(owner: MPICommunicator) { self.owner = owner }

    func test() throws -> Bool {
        guard !done else { return true }
        var flag: Int32 = 0
        try owner.check(MPI_Test(&handle, &flag, glossa_mpi_status_ignore()), "MPI_Test")
        done = flag != 0
        return done
    }

    /// Spins on `test` for a moment, then polls with short sleeps, so a rank that waits long for a slower one does not
    /// take a core from it (or from whatever else runs on the machine).
    func wait() throws {
        let start = Date().timeIntervalSince1970
        while try !test() {
            if Date().timeIntervalSince1970 - start > 0.002 { usleep(50) }
        }
    }
}

/// MPI_Finalize, once, if MPI was initialised and not yet finalised (a C function for `atexit`).
private func glossaFinalizeMPI() {
    var initialized: Int32 = 0, finalized: Int32 = 0
    MPI_Initialized(&initialized)
    MPI_Finalized(&finalized)
    if initialized != 0 && finalized == 0 { MPI_Finalize() }
}
