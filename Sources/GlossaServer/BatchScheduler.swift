import Foundation

/// Cancellation as the running work sees it: set when the request's client left or its time ran out, so its rows
/// leave the running batch at the next step (and streaming stops), instead of being finished for no one.
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

/// What a scheduler drives: a batch that items join between its steps and leave as soon as they are done
/// (continuous batching). Everything is called from the scheduler's one thread, on the compute lane.
public protocol BatchEngine: AnyObject {
    /// One item of a request (a text, a prompt).
    associatedtype Input
    /// What an item gives.
    associatedtype Output
    /// Starts `inputs` (each with its request's ticket) and returns a handle for each; may finish some at once. When it
    /// throws, nothing of `inputs` is left running or finished (the scheduler then starts the requests one by one).
    func admit(_ inputs: [Input], tickets: [WorkTicket]) throws -> [Int]
    /// Advances everything admitted by one step.
    func step() throws
    /// The items finished since the last call.
    func collect() -> [(handle: Int, output: Output)]
    /// Stops work on `handle` (its request timed out or its client left): it gives no output.
    func abandon(_ handle: Int)
    /// Whether anything admitted is still running.
    var isIdle: Bool { get }
    /// Whether items may join while others run (false for decoders whose state cannot take rows in: then a batch
    /// runs to its end before the next is admitted).
    var admitsWhileRunning: Bool { get }
    /// Drops everything (after an error, which fails every running request).
    func reset()
}

/// A request being run: the handles of its items and their outputs so far.
private final class RunningEntry<Input: Sendable, Output: Sendable> {
    let entry: QueueEntry<Input, Output>
    var outputs: [Output?]
    var remaining: Int
    var handles: [Int]

    init(entry: QueueEntry<Input, Output>, handles: [Int]) {
        self.entry = entry
        self.handles = handles
        outputs = Array(repeating: nil, count: handles.count)
        remaining = handles.count
    }
}

/// A per-model request queue with one worker thread driving a `BatchEngine`. When nothing runs, the worker waits
/// for a request, then for more until the waiting requests hold `maxBatchTokens` tokens or the first has waited
/// `maxWait` (only when the last admission held more than one request, so a lone client is never kept waiting).
/// While a batch runs, waiting requests join it between its steps, as long as the running requests hold fewer than
/// `maxBatchTokens` tokens (one larger than that runs once the batch is empty), and each request is answered the
/// moment its last item finishes. Requests are never split across admissions, and the engine's rows are computed
/// independently of each other, so a request's outputs do not depend on what else runs.
public final class BatchScheduler<Engine: BatchEngine>: @unchecked Sendable where Engine.Input: Sendable, Engine.Output: Sendable {
    /// One item of a request.
    public typealias Input = Engine.Input
    /// What an item gives.
    public typealias Output = Engine.Output

    /// The scheduler's limits.
    public struct Limits: Sendable {
        /// No request joins once the running ones hold this many tokens (a larger one runs alone).
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
    private var lastAdmission = 0
    private var stopping = false
    private var thread: Thread?
    private let limits: Limits
    private let engine: Unchecked<Engine>
    private let lane: ComputeLane
    private let observer: (@Sendable (_ items: Int, _ tokens: Int, _ seconds: Double) -> Void)?

    /// A scheduler named `name` (its thread's name) running `engine` on `lane`; `observer` hears of every step.
    public init(name: String, limits: Limits, lane: ComputeLane, engine: Engine,
                observer: (@Sendable (_ items: Int, _ tokens: Int, _ seconds: Double) -> Void)? = nil) {
        self.limits = limits
        self.engine = Unchecked(engine)
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

    /// Items of the requests running.
    public var running: Int { condition.withLock { runningItems } }

    /// Queues `inputs` (costing `tokens`) and waits for their outputs. Throws `ServerError.queueFull` when the queue
    /// has no room, `.timeout` once `timeout` has passed, and `CancellationError` when the calling task is cancelled
    /// (its client left); in the last two cases the work is abandoned: dropped if not started, its rows taken out of
    /// the running batch at the next step if running.
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
        let engine = self.engine.value
        var running: [RunningEntry<Input, Output>] = []
        var owner: [Int: (RunningEntry<Input, Output>, Int)] = [:]
        func fail(_ error: any Error) {
            for item in running { finish(item.entry, with: .failure(error)) }
            running = []
            owner = [:]
            engine.reset()
        }
        while let taken = nextAdmission(runningTokens: running.reduce(0) { $0 + $1.entry.tokens }, idle: engine.isIdle,
                                        joining: engine.admitsWhileRunning) {
            let start = DispatchTime.now()
            // Requests whose time ran out or whose client left: their rows leave before the next step.
            for item in running where item.entry.ticket.isCancelled { for handle in item.handles { engine.abandon(handle) } }
            running.removeAll { item in
                guard item.entry.ticket.isCancelled else { return false }
                for handle in item.handles { owner[handle] = nil }
                return true
            }
            var refused: [(QueueEntry<Input, Output>, any Error)] = []
            do {
                try lane.run {
                    func started(_ entry: QueueEntry<Input, Output>, _ handles: ArraySlice<Int>) {
                        let item = RunningEntry(entry: entry, handles: Array(handles))
                        for (index, handle) in handles.enumerated() { owner[handle] = (item, index) }
                        running.append(item)
                    }
                    let joining = taken.filter { !$0.ticket.isCancelled }
                    // The joining requests start together: one encoder pass and one first step for all of them (each
                    // apart costs a pass over every weight for a few rows). If that fails, each is tried alone, so a
                    // request the engine cannot start fails alone, not the batch it would have joined.
                    let together = joining.count > 1
                        ? try? engine.admit(joining.flatMap(\.inputs), tickets: joining.flatMap { entry in entry.inputs.map { _ in entry.ticket } })
                        : nil
                    if let together {
                        var offset = 0
                        for entry in joining {
                            started(entry, together[offset..<(offset + entry.inputs.count)])
                            offset += entry.inputs.count
                        }
                    } else {
                        for entry in joining {
                            do {
                                started(entry, try engine.admit(entry.inputs, tickets: entry.inputs.map { _ in entry.ticket })[...])
                            } catch {
                                refused.append((entry, error))
                            }
                        }
                    }
                    if !engine.isIdle { try engine.step() }
                }
            } catch {
                fail(error)
            }
            for (entry, error) in refused { finish(entry, with: .failure(error)) }
            for (handle, output) in engine.collect() {
                guard let found = owner.removeValue(forKey: handle) else { continue }
                found.0.outputs[found.1] = output
                found.0.remaining -= 1
            }
            let done = running.filter { $0.remaining == 0 }
            running.removeAll { $0.remaining == 0 }
            condition.withLock { runningItems = running.reduce(0) { $0 + $1.entry.inputs.count } }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            observer?(running.reduce(0) { $0 + $1.entry.inputs.count } + done.reduce(0) { $0 + $1.entry.inputs.count },
                      taken.reduce(0) { $0 + $1.tokens }, seconds)
            for item in done { finish(item.entry, with: .success(item.outputs.compactMap { $0 })) }
        }
        condition.withLock { thread = nil }
    }

    /// The requests to admit before the next step. With nothing running: waits for a request, then for more until
    /// they hold `maxBatchTokens` tokens or the first has waited `maxWait`; `nil` once stopping with nothing left.
    /// While a batch runs: what is waiting now, as far as the running requests' `runningTokens` leave room (nothing
    /// unless `joining`).
    private func nextAdmission(runningTokens: Int, idle: Bool, joining: Bool) -> [QueueEntry<Input, Output>]? {
        condition.lock()
        defer { condition.unlock() }
        if !idle && !joining { return [] }
        if idle {
            while waiting.isEmpty {
                if stopping { return nil }
                condition.wait()
            }
            // Waiting for company pays only when there is some: after an admission of one request (a lone client),
            // the next runs at once; under load, clients answered a moment ago are back within the wait.
            let patience = lastAdmission > 1 ? limits.maxWait.seconds : 0
            let waited = Double(DispatchTime.now().uptimeNanoseconds - waiting[0].arrived.uptimeNanoseconds) / 1e9
            let deadline = Date(timeIntervalSinceNow: max(0, patience - waited))
            while !stopping && !waiting.isEmpty && waiting.reduce(0, { $0 + $1.tokens }) < limits.maxBatchTokens {
                if !condition.wait(until: deadline) { break }
            }
        }
        var taken: [QueueEntry<Input, Output>] = []
        var tokens = runningTokens
        while let next = waiting.first, (idle && taken.isEmpty) || tokens + next.tokens <= limits.maxBatchTokens {
            waiting.removeFirst()
            waitingItems -= next.inputs.count
            tokens += next.tokens
            // Answered already (timed out or its client left): nothing to run.
            if next.continuation != nil { taken.append(next) }
        }
        if idle || !taken.isEmpty { lastAdmission = taken.count }
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
