import Foundation
@testable import Glossa
import GlossaTensor
import Testing

/// The trainer's data-parallel pieces that need no second process: the shared plan, the shards, the data fingerprint,
/// and which communicator a launch environment selects (the MPI runs themselves are in DistributedCLITests).
@Suite struct DataParallelTests {
    /// Rank `rank` of `size`, for what depends only on the two numbers; its collectives are never called.
    final class Placeholder: Communicator {
        let rank: Int, size: Int
        init(rank: Int, size: Int) { (self.rank, self.size) = (rank, size) }
        var localSize: Int { size }
        var engine: String { "placeholder" }
        struct Unused: Error {}
        func startAllReduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws -> any CommunicationRequest { throw Unused() }
        func allReduceSum(_ values: inout [Double]) throws { throw Unused() }
        func broadcast(_ bytes: inout [UInt8], root: Int) throws { throw Unused() }
        func barrier() throws { throw Unused() }
        func abort(code: Int32) -> Never { exit(code) }
    }

    @Test func ranksShareOnePlanOfNTimesTheBatchAndSplitEachBatch() {
        let lengths = (0..<50).map { 3 + $0 % 17 }
        let batching = ExampleBatching.byTokens(lengths: lengths, maxTokens: 60, maxExamples: 8)
        let ranks = (0..<3).map { DataParallel(communicator: Placeholder(rank: $0, size: 3), parameters: []) }
        guard case .byTokens(_, let maxTokens, let maxExamples, _, _) = ranks[1].global(batching) else {
            Issue.record("the batching kind changed")
            return
        }
        #expect(maxTokens == 180 && maxExamples == 24)
        let plan = ExampleBatcher.epoch(ranks[0].global(batching), seed: 5, epoch: 0)
        for batch in plan {
            let shards = ranks.map { $0.shard(batch) }
            // Every example once, interleaved so the length-sorted batch splits into shards of alike cost.
            #expect(shards.flatMap { $0 }.sorted() == batch.sorted())
            #expect(shards[0] == stride(from: 0, to: batch.count, by: 3).map { batch[$0] })
            #expect(shards.map(\.count).max()! - shards.map(\.count).min()! <= 1)
        }
        guard case .bySize(_, let size, _) = ranks[0].global(.bySize(count: 10, size: 4)) else { return }
        #expect(size == 12)
    }

    @Test func aSingleProcessChangesNothing() throws {
        let parallel = DataParallel(communicator: SingleProcessCommunicator(), parameters: [Tensor.zeros([3], requiresGrad: true)])
        let batching = ExampleBatching.byTokens(lengths: [4, 5, 6], maxTokens: 10)
        #expect(DataParallel.fingerprint(parallel.global(batching)) == DataParallel.fingerprint(batching))
        #expect(parallel.shard([7, 1, 4]) == [7, 1, 4])
        let noHook = parallel.hook(lastOfUpdate: true) == nil, oneStream = parallel.dropoutGenerator(seed: 1, step: 3) == nil
        #expect(noHook && oneStream)
        let totals = try parallel.finish(.init(units: 5, tokens: 6, lossSum: 7, cpuSeconds: 8))
        #expect(totals.units == 5 && totals.tokens == 6 && totals.lossSum == 7)
        let agreed = try parallel.agree(stop: true, seconds: 2.5)
        #expect(agreed.stop && agreed.seconds == 2.5)
    }

    @Test func theFingerprintTellsOtherDataApart() {
        let a = DataParallel.fingerprint(.byTokens(lengths: [4, 5, 6], maxTokens: 10))
        #expect(a == DataParallel.fingerprint(.byTokens(lengths: [4, 5, 6], maxTokens: 10)))
        #expect(a != DataParallel.fingerprint(.byTokens(lengths: [4, 6, 5], maxTokens: 10)))
        #expect(a != DataParallel.fingerprint(.byTokens(lengths: [4, 5, 6, 1], maxTokens: 10)))
        #expect(a != DataParallel.fingerprint(.byTokens(lengths: [4, 5, 6], maxTokens: 11)))
    }

    @Test func ranksDrawTheirOwnDropoutMasksPerUpdate() {
        let ranks = (0..<2).map { DataParallel(communicator: Placeholder(rank: $0, size: 2), parameters: []) }
        var a = ranks[0].dropoutGenerator(seed: 1, step: 4)!, b = ranks[1].dropoutGenerator(seed: 1, step: 4)!
        var c = ranks[0].dropoutGenerator(seed: 1, step: 5)!, again = ranks[0].dropoutGenerator(seed: 1, step: 4)!
        let first = a.next()
        #expect(first != b.next() && first != c.next() && first == again.next())
    }

    @Test func theLaunchEnvironmentPicksTheCommunicator() throws {
        #expect(Communicators.launcher(in: [:]) == nil)
        #expect(Communicators.launcher(in: ["OMPI_COMM_WORLD_SIZE": "4"])?.size == 4)
        #expect(Communicators.launcher(in: ["PMI_SIZE": "2"])?.name == "a PMI launcher")
        // No launcher: a single process, and MPI is never initialised.
        let world = try Communicators.make(environment: ["PATH": "/usr/bin"]).get()
        #expect(world is SingleProcessCommunicator && world.size == 1 && world.isRoot)
    }
}
