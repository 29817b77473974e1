import Foundation
import Testing
import Glossa
import GlossaBuiltins
import GlossaTensor
import GlossaTestSupport

/// Plain loops over one unpadded sequence `[n][C]`: the oracle for each pooler.
func referencePool(_ mode: PoolingMode, _ rows: [[Float]]) -> [Float] {
    let n = rows.count, c = rows[0].count
    func column(_ j: Int) -> [Float] { rows.map { $0[j] } }
    switch mode {
    case .mean: return (0..<c).map { column($0).reduce(0, +) / Float(n) }
    case .meanSqrtLength: return (0..<c).map { column($0).reduce(0, +) / Float(n).squareRoot() }
    case .max: return (0..<c).map { column($0).max() ?? 0 }
    case .cls: return rows[0]
    case .lastToken: return rows[n - 1]
    case .weightedMean:
        let total = Float(n * (n + 1) / 2)
        return (0..<c).map { j in rows.enumerated().reduce(Float(0)) { $0 + Float($1.offset + 1) * $1.element[j] } / total }
    }
}

@Suite struct PoolerTests {
    let lengths = [3, 5, 1]
    let width = 4

    /// `[3, 5, 4]` states whose padded positions hold `fill`.
    func states(fill: Float) -> (Tensor, TokenBatch) {
        let batch = TokenBatch(lengths.map { [Int](repeating: 7, count: $0) }, padId: 0)
        let random = randomTensor([3, 5, width], seed: 11).scalars
        var values = random
        for b in 0..<3 { for t in lengths[b]..<5 { for j in 0..<width { values[(b * 5 + t) * width + j] = fill } } }
        return (Tensor(shape: [3, 5, width], scalars: values), batch)
    }

    @Test(arguments: PoolingMode.allCases)
    func matchesReferenceAndIgnoresPadding(mode: PoolingMode) {
        let (a, batch) = states(fill: 0)
        let (b, _) = states(fill: 1e3)
        let pooledA = mode.pooler.pool(a, batch: batch), pooledB = mode.pooler.pool(b, batch: batch)
        #expect(pooledA.shape == [3, width])
        assertClose(pooledA.scalars, pooledB.scalars, rtol: 0, atol: 0, "padding changed \(mode)")
        for (row, n) in lengths.enumerated() {
            let rows = (0..<n).map { t in Array(a.scalars[((row * 5 + t) * width)..<((row * 5 + t + 1) * width)]) }
            assertClose(Array(pooledA.scalars[(row * width)..<((row + 1) * width)]), referencePool(mode, rows), rtol: 1e-5, atol: 1e-6, "\(mode)")
        }
    }

    @Test func normalizedVectorsHaveUnitLength() {
        let (a, batch) = states(fill: 0)
        let pooled = NormalizedPooler(MeanPooler()).pool(a, batch: batch)
        for row in 0..<3 {
            let v = pooled.scalars[(row * width)..<((row + 1) * width)]
            #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
        }
        #expect(l2Normalized(Tensor.zeros([1, 3])).scalars == [0, 0, 0])
    }

    @Test func unitVectorFollowsTheTensorRule() {
        #expect(unitVector([3, 4]) == [0.6, 0.8])
        #expect(unitVector([0, 0, 0]) == [0, 0, 0])
        #expect(unitVector([]) == [])
        // Plain and tensor normalisation agree on ordinary rows, on zero rows and on rows below the 1e-12 floor.
        let rows: [[Float]] = [[1, -2, 2], [0, 0, 0], [1e-14, 0, -1e-14], [0.25, 0.5, 1e6]]
        let tensor = l2Normalized(Tensor(shape: [rows.count, 3], scalars: rows.flatMap { $0 }))
        for (i, row) in rows.enumerated() {
            assertClose(unitVector(row), Array(tensor.scalars[(i * 3)..<((i + 1) * 3)]), rtol: 1e-6, atol: 1e-20, "row \(i)")
        }
    }

    @Test func concatenationFollowsSentenceTransformersOrder() {
        let (a, batch) = states(fill: 0)
        let both = ConcatenatedPooler([FirstTokenPooler(), MeanPooler()]).pool(a, batch: batch)
        #expect(both.shape == [3, 2 * width])
    }

    @Test func everyPoolerIsAPlugin() throws {
        for mode in PoolingMode.allCases {
            let plugin = try builtinPlugins.plugin(named: mode.pluginName)
            guard case .pooler(let make) = plugin.factory else { Issue.record("\(mode) is not a pooler"); continue }
            let pooler = try make(PluginConfiguration(json: Data(#"{"normalize": true}"#.utf8)))
            let (a, batch) = states(fill: 0)
            let v = pooler.pool(a, batch: batch).scalars.prefix(width)
            #expect(abs(v.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5, "\(mode)")
        }
        #expect(PoolingMode(name: "cls_token") == .cls)
        #expect(PoolingMode(name: "mean_sqrt_len_tokens") == .meanSqrtLength)
    }

    @Test func batchPlanIsolatesOneLongSentence() {
        let lengths = [Int](repeating: 12, count: 31) + [300]
        let plan = Embedder.plan(lengths: lengths, batchSize: 32)
        #expect(Set(plan.flatMap { $0 }) == Set(lengths.indices))
        #expect(plan.contains([31]))
        let padded = plan.reduce(0) { total, rows in total + rows.count * (rows.map { lengths[$0] }.max() ?? 0) }
        #expect(padded <= lengths.reduce(0, +) * 5 / 4 + 64)
        #expect(Embedder.plan(lengths: [5, 6, 7, 5, 6], batchSize: 2).allSatisfy { $0.count <= 2 })
        #expect(Embedder.plan(lengths: [], batchSize: 8).isEmpty)
    }
}

@Suite struct SentenceTransformersPipelineTests {
    func directory(modules: String, pooling: String?, extra: [String: String] = [:]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        try Data(modules.utf8).write(to: url.appendingPathComponent("modules.json"))
        if let pooling { try Data(pooling.utf8).write(to: url.appendingPathComponent("1_Pooling/config.json")) }
        for (name, text) in extra { try Data(text.utf8).write(to: url.appendingPathComponent(name)) }
        return url
    }

    let classic = #"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#

    @Test func readsClassicLayout() throws {
        let url = try directory(modules: classic, pooling: #"{"pooling_mode_cls_token": true, "pooling_mode_max_tokens": true, "pooling_mode_mean_tokens": false}"#,
                                extra: ["sentence_bert_config.json": #"{"max_seq_length": 128}"#])
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = try #require(try SentenceTransformersPipeline.read(url))
        #expect(pipeline == SentenceTransformersPipeline(modes: [.cls, .max], normalize: true, maxSequenceLength: 128))
    }

    @Test func readsNewerSpellings() throws {
        let modules = #"[{"path":"","type":"sentence_transformers.base.modules.transformer.Transformer"},{"path":"1_Pooling","type":"sentence_transformers.sentence_transformer.modules.pooling.Pooling"}]"#
        let url = try directory(modules: modules, pooling: #"{"embedding_dimension": 32, "pooling_mode": "lasttoken"}"#)
        defer { try? FileManager.default.removeItem(at: url) }
        let pipeline = try #require(try SentenceTransformersPipeline.read(url))
        #expect(pipeline == SentenceTransformersPipeline(modes: [.lastToken], normalize: false))
    }

    @Test func fixtureDirectory() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/bert-tiny").standardizedFileURL
        #expect(try SentenceTransformersPipeline.read(fixture) == SentenceTransformersPipeline(modes: [.mean], normalize: true, maxSequenceLength: 32))
        let plain = try directory(modules: classic, pooling: nil)
        defer { try? FileManager.default.removeItem(at: plain) }
        try FileManager.default.removeItem(at: plain.appendingPathComponent("modules.json"))
        #expect(try SentenceTransformersPipeline.read(plain) == nil)
    }

    @Test(arguments: [
        (#"{"pooling_mode_mean_tokens": false}"#, "no pooling mode"),
        (#"{"pooling_mode": "median"}"#, "median"),
        ("not json", "not valid JSON"),
    ])
    func badPoolingConfigurationsAreClearErrors(pooling: String, mentions: String) throws {
        let url = try directory(modules: classic, pooling: pooling)
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try SentenceTransformersPipeline.read(url)
            Issue.record("accepted \(pooling)")
        } catch let error as GlossaError {
            #expect(error.description.contains(mentions), "\(error)")
        }
    }

    @Test func unsupportedModuleIsAClearError() throws {
        let modules = #"[{"path":"","type":"sentence_transformers.models.Transformer"},{"path":"2_Dense","type":"sentence_transformers.models.Dense"}]"#
        let url = try directory(modules: modules, pooling: nil)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: GlossaError.self) { try SentenceTransformersPipeline.read(url) }
    }
}
