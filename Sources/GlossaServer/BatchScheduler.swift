import Foundation

/// Cancellation as the running work sees it: set when the request's client left or its time ran out, so work that
/// can stop early (generation, between tokens) does, and finished work is dropped instead of answered.
public final class WorkTicket: @unchecked Sendable {
    private let lock = NSLock()
    private var stopped = false

    /// Whether the request no longer wants its result.
    public var isCancelled: Bool { lock.withLock { stopped } }

    func cancel() { lock.withLock { stopped = true } }
}

/// One request's share of a batch: its items, their token cost, and the continuation that answers it once.
final class QueueEntry<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    let inputs: [Input]
    let tokens: Int
    let ticket = WorkTicket()
    let arrived = DispatchTime.now()
    // Guarded by the scheduler's condition lock; `nil` once answered, so each request is answered exactly once.
    var continuation: CheckedContinuation<[Output], any Error>?

    init(inputs: [Input], tokens: Int, continuation: CheckedContinuation<[Output], any Error>) {
        self.inputs = inputs
        self.tokens = tokens
        self.continuation = continuation
    }
}

/// What the scheduler runs a batch with: the inputs of every request taken, in arrival order, and the tickets that
/// say which of them still want an answer; returns one output per input, in the same order.
public typealias BatchWork<Input, Output> = @Sendable (_ inputs: [Input], _ tickets: [WorkTicket]) throws -> [Output]

/// A per-model request queue with one worker thread: the worker waits for the first request, keeps gathering until
/// the batch holds `maxBatchTokens` tokens or `maxWait` has passed since that request arrived (only when the previous
/// batch held more than one request, so a lone client is never kept waiting), and runs every request
/// taken as one call of `work` (the SDK sorts by length inside). Requests are never split across batches, so a
/// request's outputs are those of one call, and the SDK's decoding is per row, so they do not depend on its neighbours.
public final class BatchScheduler<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    /// The scheduler's limits.
    public struct Limits: Sendable {
        /// A batch is closed once it holds this many tokens (a request larger than that runs alone).
        public var maxBatchTokens: Int
        /// The longest a request waits for others to join its batch.
        public var maxWait: Duration
        /// Items (texts, prompts) waiting at most; a request that would pass it is refused.
        public var maxQueue: Int

        /// Limits as given.
        public init(maxBatchTokens: Int, maxWait: Duration, maxQueue: Int) {
            self.maxBatchTokens = maxBatchTokens
            self.maxWait = maxWait
            self.maxQueue = maxQueue
        }
    }

    private let condition = NSCondition()
    private var waiting: [QueueEntry<Input, Output>] = []
    private var waitingItems = 0
    private var runningItems = 0
    private var lastBatchRequests = 0
    private var stopping = false
    private var thread: Thread?
    private let limits: Limits
    private let work: BatchWork<Input, Output>
    private let lane: ComputeLane
    private let observer: (@Sendable (_ items: Int, _ tokens: Int, _ seconds: Double) -> Void)?

    /// A scheduler named `name` (its thread's name) running `work` on `lane`; `observer` hears of every batch run.
    public init(name: String, limits: Limits, lane: ComputeLane, work: @escaping BatchWork<Input, Output>,
                observer: (@Sendable (_ items: Int, _ tokens: Int, _ seconds: Double) -> Void)? = nil) {
        self.limits = limits
        self.work = work
        self.lane = lane
        self.observer = observer
        // The thread keeps the scheduler alive until `shutdown` ends it.
        let thread = Thread { self.loop() }
        thread.name = "glossa-batch-\(name)"
        self.thread = thread
        thread.start()
    }

    /// Items waiting for a batch (the queue-depth gauge).
    public var depth: Int { condition.withLock { waitingItems } }

    /// Items in the batch being run.
    public var running: Int { condition.withLock { runningItems } }

    /// Queues `inputs` (costing `tokens`) and waits for their outputs. Throws `ServerError.queueFull` when the queue
    /// has no room, `.timeout` once `timeout` has passed, and `CancellationError` when the calling task is cancelled
    /// (its client left); in the last two cases the work is abandoned: dropped if not started, its result discarded
    /// (and generation stopped) if running.
    public func submit(_ inputs: [Input], tokens: Int, timeout: Duration) async throws -> [Output] {
        try await withThrowingTaskGroup(of: [Output].self) { group in
            group.addTask { try await self.enqueue(inputs, tokens: tokens) }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ServerError.timeout
            }
            defer { group.cancelAll() }
            guard let outputs = try await group.next() else { throw CancellationError() }
            return outputs
        }
    }

    private func enqueue(_ inputs: [Input], tokens: Int) async throws -> [Output] {
        let box = EntryBox<Input, Output>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[Output], any Error>) in
                let entry = QueueEntry(inputs: inputs, tokens: tokens, continuation: continuation)
                condition.lock()
                if stopping || (waitingItems + inputs.count > limits.maxQueue && !waiting.isEmpty) {
                    entry.continuation = nil
                    condition.unlock()
                    continuation.resume(throwing: stopping ? ServerError.shuttingDown : ServerError.queueFull)
                    return
                }
                waiting.append(entry)
                waitingItems += inputs.count
                condition.signal()
                condition.unlock()
                if box.set(entry) { finish(entry, with: .failure(CancellationError())) }
            }
        } onCancel: {
            if let entry = box.cancel() { finish(entry, with: .failure(CancellationError())) }
        }
    }

    /// Stops taking requests once those queued and running are answered; returns when the worker has ended.
    public func shutdown() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
        while condition.withLock({ thread != nil }) { Thread.sleep(forTimeInterval: 0.005) }
    }

    /// Answers `entry` unless it already was, cancelling its ticket when the answer is a failure.
    private func finish(_ entry: QueueEntry<Input, Output>, with result: Result<[Output], any Error>) {
        condition.lock()
        guard let continuation = entry.continuation else {
            condition.unlock()
            return
        }
        entry.continuation = nil
        if let index = waiting.firstIndex(where: { $0 === entry }) {
            waiting.remove(at: index)
            waitingItems -= entry.inputs.count
        }
        condition.unlock()
        if case .failure = result { entry.ticket.cancel() }
        continuation.resume(with: result)
    }

    private func loop() {
        while let batch = nextBatch() {
            let live = batch.filter { !$0.ticket.isCancelled }
            guard !live.isEmpty else { continue }
            let inputs = live.flatMap(\.inputs)
            condition.withLock { runningItems = inputs.count }
            defer { condition.withLock { runningItems = 0 } }
            let start = DispatchTime.now()
            let result = Result { try lane.run { try work(inputs, live.flatMap { entry in entry.inputs.map { _ in entry.ticket } }) } }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            observer?(inputs.count, live.reduce(0) { $0 + $1.tokens }, seconds)
            switch result {
            case .success(let outputs) where outputs.count == inputs.count:
                var offset = 0
                for entry in live {
                    finish(entry, with: .success(Array(outputs[offset..<(offset + entry.inputs.count)])))
                    offset += entry.inputs.count
                }
            case .success:
                for entry in live { finish(entry, with: .failure(ServerError.internalError("the model returned a wrong number of outputs"))) }
            case .failure(let error):
                for entry in live { finish(entry, with: .failure(error)) }
            }
        }
        condition.withLock { thread = nil }
    }

    /// Waits for a request, then for more until the batch is full by tokens or the first one has waited `maxWait`;
    /// `nil` once stopping with nothing left.
    private func nextBatch() -> [QueueEntry<Input, Output>]? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty {
            if stopping { return nil }
            condition.wait()
        }
        // Waiting for company pays only when there is some: after a batch of one request (a lone client), the next runs
        // at once; under load, clients answered a moment ago are back within the wait and join the batch.
        let patience = lastBatchRequests > 1 ? limits.maxWait.seconds : 0
        let waited = Double(DispatchTime.now().uptimeNanoseconds - waiting[0].arrived.uptimeNanoseconds) / 1e9
        let deadline = Date(timeIntervalSinceNow: max(0, patience - waited))
        while !stopping && !waiting.isEmpty && waiting.reduce(0, { $0 + $1.tokens }) < limits.maxBatchTokens {
            if !condition.wait(until: deadline) { break }
        }
        var taken: [QueueEntry<Input, Output>] = []
        var tokens = 0
        while let next = waiting.first, taken.isEmpty || tokens + next.tokens <= limits.maxBatchTokens {
            waiting.removeFirst()
            waitingItems -= next.inputs.count
            tokens += next.tokens
            // Answered already (timed out or its client left): nothing to run.
            if next.continuation != nil { taken.append(next) }
        }
        lastBatchRequests = taken.count
        return taken
    }
}

/// Where a submitted entry is kept for the cancellation handler, which may run before the entry exists.
private final class EntryBox<Input: Sendable, Output: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: QueueEntry<Input, Output>?
    private var cancelled = false

    /// Keeps `entry`; true when the task was cancelled before, so the caller answers it at once.
    func set(_ entry: QueueEntry<Input, Output>) -> Bool {
        lock.withLock {
            stored = entry
            return cancelled
        }
    }

    /// Marks the task cancelled; the entry to answer when it is already queued.
    func cancel() -> QueueEntry<Input, Output>? {
        lock.withLock {
            cancelled = true
            return stored
        }
    }
}

/// One model runs at a time: the models share the machine's cores (the SDK splits each product over all of them), so
/// running two batches at once would only make both slower.
public final class ComputeLane: @unchecked Sendable {
    private let lock = NSLock()

    /// A lane with nothing running.
    public init() {}

    /// Runs `body` once nothing else runs on this lane.
    public func run<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
