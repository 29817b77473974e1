import Foundation
import Glossa
import GlossaNN

/// A translator behind its batch queue: texts from every request are decoded together with the directory's search
/// settings, exactly as `glossa translate` without search flags decodes them.
final class TranslationService: @unchecked Sendable {
    let name: String
    let pair: (source: String, target: String)?
    let scheduler: BatchScheduler<String, String>
    private let tokenizer: any Tokenizer

    init(name: String, directory: URL, translator: Translator, limits: BatchScheduler<String, String>.Limits,
         lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        pair = languagePair(name: name, directory: directory)
        tokenizer = translator.sourceTokenizer
        let search = translator.defaultSearch()
        let translator = Unchecked(translator)
        let maxBatchTokens = limits.maxBatchTokens
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, work: { texts, _ in
            // One call for the whole batch: the SDK sorts by length, and caps each decoding batch by padded tokens.
            try translator.value.translate(texts, search: search, batchSize: max(1, texts.count), batchTokens: maxBatchTokens)
                .map { $0.first?.text ?? "" }
        }, observer: metrics.batchObserver(model: name))
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

/// An embedder behind its queue, with the directory's own pooling and normalisation: each vector is exactly what
/// `glossa embed TEXT` prints for that text alone.
final class EmbeddingService: @unchecked Sendable {
    let name: String
    let scheduler: BatchScheduler<String, [Float]>
    private let embedder: Embedder

    init(name: String, embedder: Embedder, limits: BatchScheduler<String, [Float]>.Limits, lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        self.embedder = embedder
        let embedder = Unchecked(embedder)
        // Each text gets a forward pass of its own: the SDK's encoder is not bitwise batch-invariant (a row's floats
        // change in the last bits with its place in a batch, as OpenBLAS's edge tiles sum in another order), and a
        // vector must not depend on its neighbours. The queue still gathers requests, and the lane runs them back to back.
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, work: { texts, tickets in
            try zip(texts, tickets).map { text, ticket in ticket.isCancelled ? [] : try embedder.value.embed([text]).first ?? [] }
        }, observer: metrics.batchObserver(model: name))
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

/// A language model behind its queue. Prompts run one after another: each prompt's samples draw from one sampler
/// seeded by the request, as `glossa generate --seed` does, so they are the CLI's outputs whatever else is queued.
final class CompletionService: @unchecked Sendable {
    let name: String
    let scheduler: BatchScheduler<CompletionJob, CompletionResult>
    private let language: LanguageModel

    init(name: String, language: LanguageModel, limits: BatchScheduler<CompletionJob, CompletionResult>.Limits,
         lane: ComputeLane, metrics: ServerMetrics) {
        self.name = name
        self.language = language
        let language = Unchecked(language)
        scheduler = BatchScheduler(name: name, limits: limits, lane: lane, work: { jobs, tickets in
            try zip(jobs, tickets).map { job, ticket in try Self.run(job, ticket: ticket, language: language.value) }
        }, observer: metrics.batchObserver(model: name))
    }

    private static func run(_ job: CompletionJob, ticket: WorkTicket, language: LanguageModel) throws -> CompletionResult {
        guard !ticket.isCancelled else { return CompletionResult(texts: [], finishReasons: [], completionTokens: 0) }
        var sampler = StochasticSampler(temperature: job.temperature, topP: job.topP, seed: job.seed)
        var result = CompletionResult(texts: [], finishReasons: [], completionTokens: 0)
        for sample in 0..<job.samples {
            var text = "", count = 0
            _ = try language.continuation(of: job.prompt, sampler: &sampler, maxNewTokens: job.maxTokens) { piece in
                // The client left or its time ran out: stop between tokens rather than finish for no one.
                if ticket.isCancelled { throw CancellationError() }
                text += piece
                count += 1
                job.stream?(sample, piece)
            }
            result.texts.append(text)
            // The last allowed step is always EOS (as in `glossa generate`), so a continuation that reaches it ends one short.
            let positions = language.model.decoder.maxLength ?? .max
            result.finishReasons.append(count + 1 >= job.maxTokens || job.promptTokens + count + 1 >= positions ? "length" : "stop")
            result.completionTokens += count
        }
        return result
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

/// A model handed to its scheduler's thread. Unchecked: the SDK's models are classes, and each is only ever run from
/// that one thread (on the compute lane); request threads use only their `Sendable` tokenizers.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
