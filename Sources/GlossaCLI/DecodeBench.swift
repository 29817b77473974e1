import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// `glossa bench decode`: a translator's decoding time split by part — encoder, self-attention,
/// cross-attention, feed-forward, output projection, search — in milliseconds per decoder step.
enum DecodeBench {
    static func run(plugins: PluginRegistry, directory: String?, input: String, lines: Int, beamSize: Int, batchSize: Int,
                    compute: ComputeOptions) throws -> [BenchRow] {
        let url = try ModelLocator.resolve(directory)
        let translator = try Translator.load(url, registry: plugins)
        try compute.prepare(translator.model, directory: url)
        let eos = translator.model.specialIds.eos
        let sources = try InputFile.lines(input).prefix(lines).map { try translator.sourceTokenizer.encode($0) + [eos] }
        var search = translator.defaultSearch()
        search.beamSize = beamSize
        search.earlyStopping = .whenFull
        _ = try translator.translateIds(Array(sources.prefix(batchSize)), search: search, batchSize: batchSize)  // warm-up
        let profile = StepProfile()
        let (storageBefore, mallocsBefore) = (TensorStorage.allocations, MallocCount.now)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try translator.translateIds(Array(sources), sampler: Translator.sampler(for: search), batchSize: batchSize,
                                        maxNewTokens: search.maxNewTokens, lengthPenalty: search.lengthPenalty,
                                        earlyStopping: search.earlyStopping, forceEOSAtLimit: search.forceEOSAtLimit,
                                        banned: search.bannedTokens, profile: profile)
        let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let (storageAfter, mallocsAfter) = (TensorStorage.allocations, MallocCount.now)
        let steps = Double(Swift.max(profile.steps, 1))
        let name = "\(sources.count) lines, beam \(beamSize), batch \(batchSize), \(profile.steps) steps"
        // No reference to set beside a part: the share of the total stands in the unit column.
        func row(_ part: String, _ seconds: Double) -> BenchRow {
            BenchRow(workload: "decode", shape: "\(part) (\(name))", unit: String(format: "ms/step, %4.1f%% of the time", 100 * seconds / total),
                     glossa: seconds / steps * 1000, reference: 0, referenceName: "no reference")
        }
        var rows = StepProfile.Part.allCases.map { part in
            let seconds = profile.seconds[part] ?? 0
            return row(part.rawValue, seconds)
        }
        let measured = profile.seconds.values.reduce(0, +)
        rows.append(row("other", total - measured))
        rows.append(BenchRow(workload: "decode", shape: "total (\(name))", unit: String(format: "ms/step; %.1f sentences/s", Double(sources.count) / total),
                             glossa: total / steps * 1000, reference: 0, referenceName: "no reference"))
        // Encoder batches included: what the whole run allocated, per decoder step.
        rows.append(BenchRow(workload: "decode", shape: "tensor storage allocations (\(name))", unit: "per step (TensorStorage)",
                             glossa: Double(storageAfter - storageBefore) / steps, reference: 0, referenceName: "no reference"))
        if let mallocsBefore, let mallocsAfter {
            rows.append(BenchRow(workload: "decode", shape: "malloc calls (\(name))", unit: "per step (bench/malloc-count.c)",
                                 glossa: Double(mallocsAfter - mallocsBefore) / steps, reference: 0, referenceName: "no reference"))
        }
        return rows
    }
}

/// The process's malloc calls so far when it runs under `bench/malloc-count.c` (LD_PRELOAD), found by name; nil otherwise.
enum MallocCount {
    private typealias Counter = @convention(c) () -> UInt64
    private static let counter: Counter? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "glossa_malloc_count") else { return nil }
        return unsafeBitCast(symbol, to: Counter.self)
    }()

    /// The count, or nil without the shim.
    static var now: UInt64? { counter?() }
}
