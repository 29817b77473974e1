import Foundation
import GlossaNN
import GlossaTensor

/// A sampler that one or more sequences of a `DecodingBatch` draw from, in row order: `Generator.generate` gives
/// every sentence of a call one (as it always has), a server one per request, so a seeded request draws the same
/// whatever else is in the batch.
public final class SamplerSlot {
    /// The sampler, advanced by every step of the sequences that use it.
    public var sampler: any Sampler

    /// A slot holding `sampler`.
    public init(_ sampler: any Sampler) { self.sampler = sampler }
}

/// A sequence to decode: what follows the start token (a language model's prompt; nothing for a translator), the
/// sampler it draws from and its options; `onToken` hears each chosen token of a width-1 search (EOS excluded).
public struct DecodingRequest {
    /// Tokens fed after the start token.
    public var prompt: [Int]
    /// Where its choices come from.
    public var sampler: SamplerSlot
    /// Its limits and special tokens.
    public var options: GenerationOptions
    /// Called with each token as it is chosen, for width-1 samplers.
    public var onToken: ((Int) throws -> Void)?

    /// A request.
    public init(prompt: [Int] = [], sampler: SamplerSlot, options: GenerationOptions, onToken: ((Int) throws -> Void)? = nil) {
        self.prompt = prompt
        self.sampler = sampler
        self.options = options
        self.onToken = onToken
    }
}

/// The search loop of every sampler, over a batch that sequences join and leave between steps (continuous batching).
///
/// `join` runs the first step of new sequences in a decoder state of their own (with their encoder memory, so their
/// cross-attention keys and values, and their self-attention caches at their own positions) and appends its rows to
/// the running state; `step` decodes one position for every live row, lets each sequence's sampler choose, and
/// retires a sequence as soon as its search ends (per sentence, as transformers' beam search stops). Every row's
/// arithmetic is its own (the products and attention kernels are batch-invariant at inference), so a sequence's
/// output is the same whenever it joins and whatever shares its steps. `Generator.generate` is this loop with every
/// sequence joined at once.
public final class DecodingBatch {
    /// The decoder all rows run through.
    public let decoder: any Decoder
    private var state: (any DecoderState)?
    private var memory: EncoderMemory?
    private var sentences: [Sentence] = []
    private var done: [(id: Int, outputs: [GeneratedSequence])] = []
    private var cancelled: Set<Int> = []
    private var nextId = 0
    private let context = ForwardContext()
    private let profile: StepProfile?
    // Buffers of every step, kept so that a step in steady state allocates nothing for its bookkeeping.
    private var stepTokens: [Int] = []
    private var nextRows: [Int] = []
    private var memoryRows: [Int] = []
    private var proposals: [Continuation] = []
    private var candidates = BestContinuations()

    /// An empty batch over `decoder`; with a `profile`, the decoder's layers and the search add their time to it.
    public init(decoder: any Decoder, profile: StepProfile? = nil) {
        self.decoder = decoder
        self.profile = profile
        context.profile = profile
    }

    /// Whether `decoder`'s states take in rows of others (`DecoderState.append(rowsOf:)`), so sequences can join a
    /// running batch; without, only sequences joined while the batch is empty decode together.
    public static func canJoin(_ decoder: any Decoder) -> Bool {
        (try? decoder.makeState().append(rowsOf: decoder.makeState())) != nil
    }

    /// Whether no sequence is being decoded.
    public var isEmpty: Bool { sentences.isEmpty }
    /// The rows (live hypotheses) of the next step.
    public var rowCount: Int { sentences.reduce(0) { $0 + $1.live.count } }
    /// The sequences being decoded.
    public var sequenceCount: Int { sentences.count }

    /// Adds `requests`, whose encoder memory (translators) has one row per request, and runs their first step; returns
    /// their ids in order. A sequence whose search ends at once is finished before this returns.
    @discardableResult
    public func join(_ requests: [DecodingRequest], memory joining: EncoderMemory?) throws -> [Int] {
        guard !requests.isEmpty else { return [] }
        let ids = requests.indices.map { nextId + $0 }
        nextId += requests.count
        let inputs = requests.map { [$0.options.startId] + $0.prompt }
        let longestPrompt = inputs.map(\.count).max() ?? 1
        var group = zip(ids, requests).map { id, request in
            Sentence(id: id, request: request,
                     limit: decoder.maxLength.map { Swift.min(request.options.maxNewTokens, $0 - longestPrompt) } ?? request.options.maxNewTokens)
        }
        // Sequences with no room at all end empty, as the loop that never runs a step leaves them.
        for sentence in group where sentence.limit <= 0 { done.append((sentence.id, [])) }
        group.removeAll { $0.limit <= 0 }
        guard !group.isEmpty else { return ids }
        let fresh = decoder.makeState()
        try advance(&group, batch: TokenBatch(inputs, padId: group[0].options.startId), state: fresh, memory: joining)
        guard !group.isEmpty else { return ids }
        fresh.select(rows: nextRows, memoryRows: memoryRows)
        let joinedMemory = joining.map { memory in
            let needed = fresh.holdsMemory ? memory.maskOnly : memory
            return memoryRows.elementsEqual(0..<memory.states.shape[0]) ? needed : needed.selecting(rows: memoryRows)
        }
        if let state, !sentences.isEmpty {
            try state.append(rowsOf: fresh)
            memory = try memory.map { current in
                guard let joinedMemory else { throw GlossaError.invalidInput("a sequence without encoder memory joined a batch that has it") }
                return current.appending(joinedMemory)
            }
        } else {
            state = fresh
            memory = joinedMemory
        }
        sentences += group
        return ids
    }

    /// Marks sequence `id` abandoned: its rows leave before the next step and it gives no output.
    public func cancel(_ id: Int) { cancelled.insert(id) }

    /// Decodes one position for every live row and retires the sequences whose search ended.
    public func step() throws {
        dropCancelled()
        guard let state, !sentences.isEmpty else { return }
        stepTokens.removeAll(keepingCapacity: true)
        for sentence in sentences { for hypothesis in sentence.live { stepTokens.append(hypothesis.tokens.last ?? sentence.options.startId) } }
        let rowsBefore = stepTokens.count
        try advance(&sentences, batch: TokenBatch(oneTokenPerRow: stepTokens), state: state, memory: memory)
        reorder(rows: nextRows, memoryRows: memoryRows, before: rowsBefore)
    }

    /// The outputs of the sequences finished since the last call (best first, `nBest` of them; empty for a sequence
    /// that had no room to generate), in the order they finished.
    public func takeFinished() -> [(id: Int, outputs: [GeneratedSequence])] {
        defer { done = [] }
        return done
    }

    private func dropCancelled() {
        guard !cancelled.isEmpty else { return }
        var rows: [Int] = [], row = 0
        var memoryRows: [Int] = []
        for sentence in sentences {
            let range = row..<(row + sentence.live.count)
            row += sentence.live.count
            if !cancelled.contains(sentence.id) {
                rows += range
                memoryRows += range
            }
        }
        sentences.removeAll { cancelled.contains($0.id) }
        cancelled = []
        reorder(rows: rows, memoryRows: memoryRows, before: row)
    }

    /// Keeps `rows` of the state (and `memoryRows` of what depends only on the source) out of `before` rows.
    private func reorder(rows: [Int], memoryRows: [Int], before: Int) {
        // Greedy search mostly keeps every row in place, and beam search keeps each sentence's rows: then there is
        // nothing to reorder.
        let memoryUnchanged = memoryRows.elementsEqual(0..<before)
        guard !rows.elementsEqual(0..<before) || !memoryUnchanged else { return }
        state?.select(rows: rows, memoryRows: memoryRows)
        if !memoryUnchanged { memory = memory?.selecting(rows: memoryRows) }
        if sentences.isEmpty { (state, memory) = (nil, nil) }
    }

    /// One step of `group`, whose live hypotheses are, in order, the rows of `state`: decodes `batch` (one row per
    /// hypothesis; the first step may feed prompts of several tokens, left-aligned) unless every sentence is at its
    /// limit with EOS forced, lets each sentence's sampler propose (or, for greedy and beam search, finds their proposals
    /// from the logits itself), keeps the best `width` continuations, retires finished sentences from `group`, and
    /// leaves in `nextRows` the rows to keep and in `memoryRows`, for each, a row of the same sentence.
    private func advance(_ group: inout [Sentence], batch: TokenBatch, state: any DecoderState, memory: EncoderMemory?) throws {
        nextRows.removeAll(keepingCapacity: true)
        memoryRows.removeAll(keepingCapacity: true)
        var logProbabilities: Tensor?, logits: Tensor?
        // With only greedy and plain beam searches, the proposals come from the raw logits and each row's log-sum-exp:
        // no log-softmax over the vocabulary is written out, nor the logits copied.
        let searchesItself = group.allSatisfy { $0.forcing || $0.sampler.sampler.topContinuations != nil }
        var rawLogits: Tensor?
        var vocabulary = 0
        if group.contains(where: { !$0.forcing }) {
            let logits3 = try withoutGrad { try decoder.decode(batch, memory: memory, state: state, context: context) }
            profile?.steps += 1
            let searchStart = DispatchTime.now().uptimeNanoseconds
            defer { profile?.add(.search, since: searchStart) }
            vocabulary = logits3.shape[2]
            if searchesItself {
                rawLogits = logits3
            } else {
                let v = vocabulary
                // Each row reads the logits at its own last position.
                let lastPositions = batch.lengths.enumerated().map { $0.offset * batch.length + $0.element - 1 }
                let rowLogits = logits3.reshaped([-1, v]).indexSelect(axis: 0, lastPositions)
                let banned = group.flatMap { sentence in Array(repeating: sentence.options.forbidden, count: sentence.live.count) }
                // Forbidden tokens are removed after the log-softmax, not renormalised (as in transformers).
                logProbabilities = Generator.forbid(banned, in: rowLogits.logSoftmax())
                if group.contains(where: { $0.sampler.sampler.readsLogits }) { logits = Generator.forbid(banned, in: rowLogits) }
            }
        }

        let bookkeepingStart = DispatchTime.now().uptimeNanoseconds
        defer { profile?.add(.search, since: bookkeepingStart) }
        let rowCount = logProbabilities?.shape[0] ?? 0
        var row = 0
        for index in group.indices {
            let rows = row..<(row + group[index].live.count)
            row += rows.count
            proposals.removeAll(keepingCapacity: true)
            if group[index].forcing {
                // Forcing EOS leaves it log-probability 0: every live hypothesis ends as it is.
                let sentence = group[index]
                for parent in sentence.live.indices {
                    proposals.append(Continuation(parent: parent, token: sentence.options.eosId, score: sentence.live[parent].score))
                }
            } else if let rawLogits, let top = group[index].sampler.sampler.topContinuations {
                findProposals(top, sentence: group[index], rows: rows, logits: rawLogits, vocabulary: vocabulary, length: batch.length,
                              lengths: batch.lengths)
            } else if let logProbabilities {
                let sentence = group[index]
                func part(_ x: Tensor) -> Tensor { rows.count == rowCount ? x : x.slice(axis: 0, rows) }
                let sentenceLogProbabilities = part(logProbabilities)
                let readsLogits = sentence.sampler.sampler.readsLogits
                proposals = sentence.sampler.sampler.step(logits: readsLogits ? part(logits ?? logProbabilities) : sentenceLogProbabilities,
                                                          logProbabilities: sentenceLogProbabilities, live: sentence.live)
            }
            if try !group[index].take(proposals, rows: rows, nextRows: &nextRows, memoryRows: &memoryRows) {
                let sentence = group[index]
                done.append((sentence.id, Array(sentence.finished.best.prefix(Swift.max(1, sentence.options.nBest)))))
            }
        }
        group.removeAll { $0.over }
    }

    /// Greedy or beam search's proposals for one sentence, best first, from its rows of `logits` `[B, length, V]` at each
    /// row's last position: the same continuations, scores and order as `logSoftmax`, forbidding and the sampler's
    /// `step` give.
    private func findProposals(_ top: TopContinuations, sentence: Sentence, rows: Range<Int>, logits: Tensor, vocabulary v: Int,
                               length: Int, lengths: [Int]) {
        logits.scalars.withUnsafeBufferPointer { all in
            guard let base = all.baseAddress else { return }
            func rowLogits(_ r: Int) -> UnsafePointer<Float> { base + (r * length + lengths[r] - 1) * v }
            switch top {
            case .argmaxPerRow:
                candidates.reset(keeping: 1)
                for (parent, r) in rows.enumerated() {
                    candidates.merge(logits: rowLogits(r), columns: v, banned: sentence.banned, base: sentence.live[parent].score, row: parent, byScore: false)
                    proposals.append(Continuation(parent: parent, token: Int(candidates.tokens[0]), score: candidates.scores[0]))
                }
            case .best(let count):
                candidates.reset(keeping: Swift.max(1, count))
                for (parent, r) in rows.enumerated() {
                    candidates.merge(logits: rowLogits(r), columns: v, banned: sentence.banned, base: sentence.live[parent].score, row: parent, byScore: true)
                }
                for j in 0..<candidates.count {
                    proposals.append(Continuation(parent: Int(candidates.rows[j]), token: Int(candidates.tokens[j]), score: candidates.scores[j]))
                }
            }
        }
    }
}

/// One sequence of a batch: its live hypotheses, its finished ones, and where it stands against its limit.
private struct Sentence {
    let id: Int
    let sampler: SamplerSlot
    let options: GenerationOptions
    let onToken: ((Int) throws -> Void)?
    /// The most steps it may take (its options' limit, less what its prompt takes of the decoder's positions).
    let limit: Int
    var live: [Hypothesis]
    var finished = FinishedHypotheses()
    /// Steps taken so far.
    var steps = 0
    /// Whether its search has ended (it leaves the batch).
    var over = false
    /// `options.forbidden` ascending without repeats, as the search kernel reads it.
    let banned: [Int64]
    // Kept across steps: the proposals kept this step, and the hypotheses' array of the step before.
    private var kept: [Continuation] = []
    private var spare: [Hypothesis] = []

    init(id: Int, request: DecodingRequest, limit: Int) {
        self.id = id
        sampler = request.sampler
        options = request.options
        onToken = request.onToken
        self.limit = limit
        live = [Hypothesis(prefix: request.prompt)]
        banned = Array(Set(request.options.forbidden.filter { $0 >= 0 })).sorted().map { Int64($0) }
    }

    var atLimit: Bool { steps == limit - 1 }
    /// Whether this step only forces EOS (no decoding needed for it).
    var forcing: Bool { atLimit && options.forceEOSAtLimit }

    /// Walks `proposals` (best first) as transformers does: one ending in EOS or at the limit among the first `width`
    /// finishes a hypothesis, others are kept while fewer than `width` are live. Appends the kept hypotheses' parent
    /// rows (of `rows`) to `nextRows` and, for each, a row of this sentence to `memoryRows`; returns false (and sets
    /// `over`) once the sentence's search is over.
    mutating func take(_ proposals: [Continuation], rows: Range<Int>, nextRows: inout [Int], memoryRows: inout [Int]) throws -> Bool {
        let width = sampler.sampler.width
        let atLimit = self.atLimit
        kept.removeAll(keepingCapacity: true)
        var ending: [GeneratedSequence] = []
        var allEnd = true
        for (rank, c) in proposals.enumerated() {
            // A proposal ends its hypothesis on EOS or at the length limit; only the best `width` proposals may
            // finish (as in transformers).
            if c.token == options.eosId || atLimit {
                if rank < width {
                    let parent = live[c.parent]
                    let tokens = c.token == options.eosId ? parent.tokens : parent.tokens + [c.token]
                    ending.append(GeneratedSequence(tokens: tokens, score: c.score / Foundation.pow(Float(parent.tokens.count + 1), options.lengthPenalty)))
                }
                continue
            }
            allEnd = false
            if kept.count < width {
                kept.append(c)
                if width == 1 { try onToken?(c.token) }
            }
            if kept.count == width { break }
        }
        let searching = finished.update(
            adding: ending, bestLive: kept.first?.score, width: width, earlyStopping: options.earlyStopping,
            lengthPenalty: options.lengthPenalty,
            length: options.earlyStopping == .never && options.lengthPenalty > 0 ? options.maxNewTokens : steps + 1)
        steps += 1
        guard searching && !allEnd && !kept.isEmpty && steps < limit else {
            over = true
            return false
        }
        // The new hypotheses go into last step's array; each parent's tokens move to its last child (greedy search's
        // only one) and are copied for the others, so a token costs an append, not a copy of the history.
        spare.removeAll(keepingCapacity: true)
        for (j, c) in kept.enumerated() {
            var tokens: [Int] = []
            if kept[(j + 1)...].contains(where: { $0.parent == c.parent }) {
                tokens = live[c.parent].tokens
            } else {
                swap(&tokens, &live[c.parent].tokens)
            }
            tokens.append(c.token)
            spare.append(Hypothesis(tokens: tokens, score: c.score, prefix: live[c.parent].prefix))
            nextRows.append(rows.lowerBound + c.parent)
            // For each new row, a previous row of the same sentence: they share one source, so what depends only on it
            // (cross-attention caches, the encoder memory) moves only with sentences.
            memoryRows.append(rows.lowerBound + Swift.min(j, rows.count - 1))
        }
        swap(&live, &spare)
        return true
    }
}

extension EncoderMemory {
    /// These rows, then `other`'s; the shorter sources are padded with zero states and masked positions, which change
    /// nothing (attention gives masked positions exactly zero weight).
    /// When either has only its mask (`maskOnly`), so has the result.
    public func appending(_ other: EncoderMemory) -> EncoderMemory {
        let length = Swift.max(sourceLength, other.sourceLength)
        let withStates = states.shape[1] > 0 && other.states.shape[1] > 0
        func padded(_ memory: EncoderMemory) -> EncoderMemory {
            let (b, s, c) = (memory.states.shape[0], memory.sourceLength, memory.states.shape[2])
            let kept = withStates ? memory : memory.maskOnly
            guard s < length else { return kept }
            let states = withStates ? Tensor.concat([kept.states, Tensor.zeros([b, length - s, c])], axis: 1) : kept.states
            let mask = Tensor.concat([kept.mask, Tensor(shape: [b, 1, 1, length - s], scalars: [Float](repeating: AttentionMask.dropped, count: b * (length - s)))], axis: 3)
            return EncoderMemory(states: states, mask: mask)
        }
        let (mine, theirs) = (padded(self), padded(other))
        return EncoderMemory(states: Tensor.concat([mine.states, theirs.states], axis: 0), mask: Tensor.concat([mine.mask, theirs.mask], axis: 0))
    }
}
