import Foundation

// Data-parallel training talks to the other processes of a run only through `Communicator`: the trainer never names
// an engine. `Communicators.world()` picks the engine the process was launched with (Open MPI's `mpirun` today); an
// engine added later (Gloo, NCCL, a GPU one) is one more conforming type and one more case there.

/// The processes of a data-parallel run and the collective operations between them. Every rank must call the
/// collectives in the same order; rank 0 is the one that writes (checkpoints, logs, the model).
public protocol Communicator: AnyObject, Sendable {
    /// This process's index, `0..<size`.
    var rank: Int { get }
    /// How many processes take part.
    var size: Int { get }
    /// How many of them run on this machine (they share its cores).
    var localSize: Int { get }
    /// What carries the messages, for logs ("single process", "Open MPI v4.1.4 …").
    var engine: String { get }
    /// Starts summing `buffer` over all ranks, in place; the buffer must stay valid and untouched until the request
    /// completes.
    func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> any CommunicationRequest
    /// Sums `values` over all ranks, in place, blocking (a few numbers: a step's counts and times).
    func allReduceSum(_ values: inout [Double]) throws
    /// Gives every rank `root`'s bytes (any length; the others' are replaced).
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
    /// Returns once every rank has called it.
    func barrier() throws
    /// Ends every process of the run with `code`: what a rank that cannot go on does, so the others do not wait forever.
    func abort(code: Int32) -> Never
}

/// A collective operation under way.
public protocol CommunicationRequest: AnyObject {
    /// Lets the operation progress (engines without a progress thread move only inside calls); whether it is done.
    func test() throws -> Bool
    /// Blocks until the operation is done.
    func wait() throws
}

extension Communicator {
    /// Whether more than one process takes part.
    public var isDistributed: Bool { size > 1 }
    /// Whether this is the rank that writes.
    public var isRoot: Bool { rank == 0 }

    /// Sums `buffer` over all ranks, in place, blocking.
    public func allReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        try startAllReduceSum(buffer).wait()
    }

    /// Runs `body` on rank 0 first and on the others once it is done (rank 0 writes what they then read); when it
    /// throws on rank 0, every rank throws (the others a `RankFailure`) instead of waiting.
    public func rootFirst<T>(_ body: () throws -> T) throws -> T {
        guard isDistributed else { return try body() }
        var value: T?, failure: (any Error)?
        var message: [UInt8] = []
        if isRoot {
            do { value = try body() } catch {
                failure = error
                let text = "\(error)"
                message = Array((text.isEmpty ? "an error" : text).utf8)
            }
        }
        try broadcast(&message, root: 0)
        if let failure { throw failure }
        if !message.isEmpty { throw RankFailure(rank: 0, message: String(decoding: message, as: UTF8.self)) }
        if let value { return value }
        return try body()
    }
}

/// One process alone: every collective is the identity.
public final class SingleProcessCommunicator: Communicator {
    /// The communicator of a process that is the whole run.
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localSize: Int { 1 }
    public var engine: String { "single process" }

    public func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> any CommunicationRequest { CompletedRequest() }
    public func allReduceSum(_ values: inout [Double]) throws {}
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {}
    public func barrier() throws {}
    public func abort(code: Int32) -> Never { exit(code) }
}

/// A request that was done when it was made.
final class CompletedRequest: CommunicationRequest {
    func test() throws -> Bool { true }
    func wait() throws {}
}

/// Picks the communicator a process was launched with.
public enum Communicators {
    private static let shared: Result<any Communicator, GlossaError> = make(environment: ProcessInfo.processInfo.environment)

    /// This process's communicator: Open MPI's when `mpirun` started it (it sets `OMPI_COMM_WORLD_SIZE`), else a
    /// single process. Made once per process (MPI is initialised on first use, finalised at exit); throws when the
    /// launcher and the library disagree (another MPI's `mpiexec`).
    public static func world() throws -> any Communicator { try shared.get() }

    /// The launcher the environment names, if any: Open MPI's (`OMPI_COMM_WORLD_SIZE`) or another PMI launcher's
    /// (`PMI_SIZE`, `PMIX_RANK`: MPICH's `mpiexec`, Slurm's `srun`), which Open MPI may also serve.
    static func launcher(in environment: [String: String]) -> (name: String, size: Int?)? {
        if let size = environment["OMPI_COMM_WORLD_SIZE"] { return ("mpirun", Int(size)) }
        if let size = environment["PMI_SIZE"] { return ("a PMI launcher", Int(size)) }
        if environment["PMIX_RANK"] != nil { return ("a PMIx launcher", nil) }
        return nil
    }

    static func make(environment: [String: String]) -> Result<any Communicator, GlossaError> {
        guard let launcher = launcher(in: environment) else { return .success(SingleProcessCommunicator()) }
        let mpi = MPICommunicator()
        if let expected = launcher.size, expected != mpi.size {
            return .failure(.invalidConfiguration(
                "launched by \(launcher.name) as \(expected) processes, but \(mpi.engine) sees \(mpi.size): "
                + "start glossa with Open MPI's own mpirun (openmpi-bin)"))
        }
        return .success(mpi)
    }
}
