import Foundation
import Glossa
import GlossaNN
import GlossaTensor

/// A translator behind its batch queue: texts from every request join one running beam search between its steps,
/// decoded with the directory's search settings exactly as `glossa translate` without search flags decodes them.
final class TranslationService: @unchecked Sendable {
    let name: String
    let pair: (source: String, target: String)?
    let scheduler: BatchScheduler<TranslationEngine>
    private let tokenizer: any Tokenizer

    init(name: String, directory: URL, translator: Translator, limits: BatchScheduler<TranslationEngine>.Limits,
         lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        pair = languagePair(name: name, directory: directory)
        tokenizer = translator.sourceTokenizer
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, engine: TranslationEngine(translator: translator),
                                   observer: metrics.batchObserver(model: name))
    }

    /// The source tokens of `texts` (EOS included), what a batch is measured in.
    func tokens(_ texts: [String], field: String) throws -> Int {
        try texts.enumerated().reduce(0) { sum, item in
            do {
                return sum + (try tokenizer.encode(item.element)).count + 1
            } catch {
                throw ServerError.badRequest(field: "\(field)[\(item.offset)]", message: "cannot tokenize \(field)[\(item.offset)]: \(error)")
            }
        }
    }
}

/// Continuous batching of translations: each admitted text's parts get an encoder pass together and join the
/// running `DecodingBatch` (their first step in a state of their own); a text is done when its last part is.
final class TranslationEngine: BatchEngine {
    private let translator: Translator
    private let search: SearchSettings
    private let options: GenerationOptions
    private var batch: DecodingBatch
    /// For each running sequence: its text's handle and its place among the text's parts.
    private var sequences: [Int: (handle: Int, part: Int)] = [:]
    /// For each running text: its parts' outputs so far and how many are missing.
    private var texts: [Int: (pieces: [[GeneratedSequence]], missing: Int, sequences: [Int])] = [:]
    private var finished: [(handle: Int, output: String)] = []
    private var nextHandle = 0

    init(translator: Translator) {
        self.translator = translator
        search = translator.defaultSearch()
        options = translator.generationOptions(maxNewTokens: search.maxNewTokens, lengthPenalty: search.lengthPenalty,
                                               earlyStopping: search.earlyStopping, forceEOSAtLimit: search.forceEOSAtLimit,
                                               banned: search.bannedTokens)
        batch = DecodingBatch(decoder: translator.model.decoder)
        admitsWhileRunning = DecodingBatch.canJoin(translator.model.decoder)
    }

    func admit(_ inputs: [String], tickets: [WorkTicket]) throws -> [Int] {
        var handles: [Int] = [], parts: [(handle: Int, part: Int, ids: [Int])] = []
        for text in inputs {
            let handle = nextHandle
            nextHandle += 1
            handles.append(handle)
            let pieces = try translator.sourceParts(text)
            if pieces.isEmpty {
                finished.append((handle, try translator.joinParts([]).first?.text ?? ""))
                continue
            }
            texts[handle] = (Array(repeating: [], count: pieces.count), pieces.count, [])
            parts += pieces.enumerated().map { (handle, $0.offset, $0.element) }
        }
        guard !parts.isEmpty else { return handles }
        var joined = false
        // A request that cannot start leaves nothing behind.
        defer { if !joined { for handle in handles { texts[handle] = nil } } }
        // One encoder pass for the joining parts (rows are computed independently of each other and of padding).
        let sources = TokenBatch(parts.map(\.ids), padId: translator.model.specialIds.pad)
        let states = try withoutGrad { try translator.model.encoder.encode(sources, context: ForwardContext()) }
        // Each part its own sampler: beam search keeps no state between steps, and no part's draws touch another's.
        let requests = parts.map { _ in DecodingRequest(sampler: SamplerSlot(Translator.sampler(for: search)), options: options) }
        let ids = try batch.join(requests, memory: EncoderMemory(states: states, source: sources))
        joined = true
        for (id, part) in zip(ids, parts) {
            sequences[id] = (part.handle, part.part)
            texts[part.handle]?.sequences.append(id)
        }
        gather()
        return handles
    }

    func step() throws {
        try batch.step()
        gather()
    }

    private func gather() {
        for (id, outputs) in batch.takeFinished() {
            guard let found = sequences.removeValue(forKey: id), var text = texts[found.handle] else { continue }
            let handle = found.handle
            text.pieces[found.part] = outputs
            text.missing -= 1
            texts[handle] = text
            guard text.missing == 0 else { continue }
            texts[handle] = nil
            // A text the target tokenizer cannot spell out is an internal error of the model; answer it empty rather
            // than fail its neighbours.
            finished.append((handle, (try? translator.joinParts(text.pieces).first?.text) ?? ""))
        }
    }

    func collect() -> [(handle: Int, output: String)] {
        defer { finished = [] }
        return finished
    }

    func abandon(_ handle: Int) {
        guard let text = texts.removeValue(forKey: handle) else { return }
        for id in text.sequences where sequences.removeValue(forKey: id) != nil { batch.cancel(id) }
    }

    var isIdle: Bool { batch.isEmpty }

    /// Whether the decoder's state takes rows in (Marian's does; an RNN decoder's does not, and then a batch runs to
    /// its end first).
    let admitsWhileRunning: Bool

    func reset() {
        batch = DecodingBatch(decoder: translator.model.decoder)
        (sequences, texts, finished) = ([:], [:], [])
    }
}

/// An embedder behind its queue, with the directory's own pooling and normalisation: the texts of every request
/// admitted together get one forward pass, and each vector is exactly what `glossa embed TEXT` prints for that text
/// alone (the encoder's rows are batch-invariant at inference, padding included).
final class EmbeddingService: @unchecked Sendable {
    let name: String
    let scheduler: BatchScheduler<EmbeddingEngine>
    private let embedder: Embedder

    init(name: String, embedder: Embedder, limits: BatchScheduler<EmbeddingEngine>.Limits, lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        self.embedder = embedder
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, engine: EmbeddingEngine(embedder: embedder),
                                   observer: metrics.batchObserver(model: name))
    }

    /// The framed tokens of each text (boundary tokens included, cut at the model's limit).
    func tokens(_ texts: [String], field: String) throws -> [Int] {
        try texts.enumerated().map { index, text in
            do {
                return try embedder.tokenize(text).count
            } catch {
                throw ServerError.badRequest(field: "\(field)[\(index)]", message: "cannot tokenize \(field)[\(index)]: \(error)")
            }
        }
    }
}

/// Embeddings take no steps: the texts admitted together are embedded in one pass, done at once.
final class EmbeddingEngine: BatchEngine {
    private let embedder: Embedder
    private var finished: [(handle: Int, output: [Float])] = []
    private var nextHandle = 0

    init(embedder: Embedder) { self.embedder = embedder }

    func admit(_ inputs: [String], tickets: [WorkTicket]) throws -> [Int] {
        let handles = inputs.indices.map { nextHandle + $0 }
        nextHandle += inputs.count
        let vectors = try embedder.embed(inputs)
        finished += zip(handles, vectors).map { ($0, $1) }
        return handles
    }

    func step() throws {}

    func collect() -> [(handle: Int, output: [Float])] {
        defer { finished = [] }
        return finished
    }

    func abandon(_ handle: Int) {}
    var isIdle: Bool { true }
    var admitsWhileRunning: Bool { true }
    func reset() { finished = [] }
}

/// One prompt of a completion request: its sampling settings, and where streamed text goes.
struct CompletionJob: Sendable {
    var prompt: String
    var promptTokens: Int
    var maxTokens: Int
    var samples: Int
    var temperature: Float
    var topP: Float
    var seed: UInt64
    /// Called with (sample, text piece) as each token is chosen, when the response streams.
    var stream: (@Sendable (_ sample: Int, _ piece: String) -> Void)?
}

/// A prompt's continuations and why each ended.
struct CompletionResult: Sendable {
    var texts: [String]
    var finishReasons: [String]
    var completionTokens: Int
}

/// A language model behind its queue. Each prompt's samples draw one after another from one sampler seeded by the
/// request, as `glossa generate --seed` does: a sample joins the running batch when the one before it ends (its
/// prompt prefilled alone, as the CLI does), so they are the CLI's outputs whatever else is decoding beside them.
final class CompletionService: @unchecked Sendable {
    let name: String
    let scheduler: BatchScheduler<CompletionEngine>
    private let language: LanguageModel

    init(name: String, language: LanguageModel, limits: BatchScheduler<CompletionEngine>.Limits,
         lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        self.language = language
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, engine: CompletionEngine(language: language),
                                   observer: metrics.batchObserver(model: name))
    }

    /// The tokens `prompt` takes (the start token included); a 400 naming `field` when it leaves no room to generate.
    func promptTokens(_ prompt: String, field: String) throws -> Int {
        let used: Int
        do {
            used = 1 + (try language.tokenizer.encode(prompt)).count
        } catch {
            throw ServerError.badRequest(field: field, message: "cannot tokenize \(field): \(error)")
        }
        if let positions = language.model.decoder.maxLength, used >= positions {
            throw ServerError.badRequest(field: field, message: "\(field) takes \(used) of the model's \(positions) positions, leaving none to generate in")
        }
        return used
    }
}

/// Continuous batching of completions: every sample of every prompt is one sequence of a `DecodingBatch`.
final class CompletionEngine: BatchEngine {
    private let language: LanguageModel
    private var batch: DecodingBatch
    /// A prompt being continued: its job, its sampler, its samples so far, the running sample's text and tokens.
    private final class Job {
        let job: CompletionJob
        let sampler: SamplerSlot
        var result = CompletionResult(texts: [], finishReasons: [], completionTokens: 0)
        var text = "", count = 0
        var sequence = -1

        init(_ job: CompletionJob) {
            self.job = job
            sampler = SamplerSlot(StochasticSampler(temperature: job.temperature, topP: job.topP, seed: job.seed))
        }
    }
    private var jobs: [Int: Job] = [:]
    private var bySequence: [Int: Int] = [:]
    private var finished: [(handle: Int, output: CompletionResult)] = []
    private var nextHandle = 0

    init(language: LanguageModel) {
        self.language = language
        batch = DecodingBatch(decoder: language.model.decoder)
        admitsWhileRunning = DecodingBatch.canJoin(language.model.decoder)
    }

    func admit(_ inputs: [CompletionJob], tickets: [WorkTicket]) throws -> [Int] {
        var handles: [Int] = []
        do {
            for input in inputs {
                let handle = nextHandle
                nextHandle += 1
                handles.append(handle)
                let job = Job(input)
                jobs[handle] = job
                try startSample(of: handle, job)
            }
        } catch {
            // Nothing of a refused admission stays: its started samples leave the batch, its finished jobs are dropped.
            for handle in handles { abandon(handle) }
            finished.removeAll { handles.contains($0.handle) }
            throw error
        }
        return handles
    }

    /// Joins the job's next sample to the batch, alone (so its prompt is prefilled as the CLI prefills it), or
    /// finishes the job when it has all its samples.
    private func startSample(of handle: Int, _ job: Job) throws {
        guard job.result.texts.count < job.job.samples else {
            jobs[handle] = nil
            finished.append((handle, job.result))
            return
        }
        let sample = job.result.texts.count
        (job.text, job.count) = ("", 0)
        let request = try language.request(for: job.job.prompt, sampler: job.sampler, maxNewTokens: job.job.maxTokens) { piece in
            job.text += piece
            job.count += 1
            job.job.stream?(sample, piece)
        }
        let id = try batch.join([request], memory: nil)[0]
        job.sequence = id
        bySequence[id] = handle
        try gather()
    }

    func step() throws {
        try batch.step()
        try gather()
    }

    private func gather() throws {
        for (id, _) in batch.takeFinished() {
            guard let handle = bySequence.removeValue(forKey: id), let job = jobs[handle] else { continue }
            job.result.texts.append(job.text)
            // The last allowed step is always EOS (as in `glossa generate`), so a continuation that reaches it ends one short.
            let positions = language.model.decoder.maxLength ?? .max
            job.result.finishReasons.append(job.count + 1 >= job.job.maxTokens || job.job.promptTokens + job.count + 1 >= positions ? "length" : "stop")
            job.result.completionTokens += job.count
            try startSample(of: handle, job)
        }
    }

    func collect() -> [(handle: Int, output: CompletionResult)] {
        defer { finished = [] }
        return finished
    }

    func abandon(_ handle: Int) {
        guard let job = jobs.removeValue(forKey: handle) else { return }
        if bySequence.removeValue(forKey: job.sequence) != nil { batch.cancel(job.sequence) }
    }

    var isIdle: Bool { batch.isEmpty }

    /// Whether the decoder's state takes rows in (the causal LM's does).
    let admitsWhileRunning: Bool

    func reset() {
        batch = DecodingBatch(decoder: language.model.decoder)
        (jobs, bySequence, finished) = ([:], [:], [])
    }
}

/// A model handed to its scheduler's thread. Unchecked: the SDK's models are classes, and each is only ever run from
/// that one thread (on the compute lane); request threads use only their `Sendable` tokenizers.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
