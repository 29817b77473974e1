import Foundation
import Prometheus

/// The server's Prometheus metrics: requests by route and status, latency, queue depth, batch sizes and tokens.
public final class ServerMetrics: Sendable {
    /// The registry `/metrics` renders.
    public let registry = PrometheusCollectorRegistry()
    /// The routes metrics are labelled with; any other path counts as `other`, so a scan cannot grow the label set.
    static let routes: Set<String> = ["/translate", "/languages", "/v1/embeddings", "/v1/completions", "/v1/models", "/health", "/metrics"]
    private let depthProbes: QueueProbes

    /// Metrics with nothing recorded.
    public init() {
        depthProbes = QueueProbes()
    }

    /// The label a path is counted under.
    static func route(_ path: String) -> String { routes.contains(path) ? path : "other" }

    /// Counts a finished request and its latency.
    func request(route: String, status: Int, seconds: Double) {
        registry.makeCounter(descriptor: Self.requests, labels: [("route", route), ("status", String(status))]).increment()
        registry.makeDurationHistogram(descriptor: Self.latency, labels: [("route", route)], buckets: Self.latencyBuckets)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// What a scheduler reports after each batch: its items and tokens, the time it took, and tokens/s.
    func batchObserver(model: String) -> @Sendable (Int, Int, Double) -> Void {
        let items = registry.makeValueHistogram(descriptor: Self.batchItems, labels: [("model", model)], buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512])
        let tokens = registry.makeCounter(descriptor: Self.tokens, labels: [("model", model)])
        let rate = registry.makeGauge(descriptor: Self.tokensPerSecond, labels: [("model", model)])
        let seconds = registry.makeDurationHistogram(descriptor: Self.batchSeconds, labels: [("model", model)], buckets: Self.latencyBuckets)
        return { count, tokenCount, elapsed in
            items.record(Double(count))
            tokens.increment(by: Int64(tokenCount))
            rate.set(to: Double(tokenCount) / max(elapsed, 1e-9))
            seconds.recordNanoseconds(Int64(elapsed * 1e9))
        }
    }

    /// Adds a queue whose depth and running batch `/metrics` reads when rendered.
    func watchQueue(model: String, depth: @escaping @Sendable () -> Int, running: @escaping @Sendable () -> Int) {
        depthProbes.add(registry.makeGauge(descriptor: Self.queueDepth, labels: [("model", model)]), depth)
        depthProbes.add(registry.makeGauge(descriptor: Self.running, labels: [("model", model)]), running)
    }

    /// The Prometheus text exposition, queue depths read now.
    public func render() -> [UInt8] {
        depthProbes.update()
        return registry.emitToBuffer()
    }

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_http_requests", unitName: "total", helpText: "HTTP requests by route and status.")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_http_request_duration", unitName: "seconds", helpText: "Time from request to response, by route.")
    }
    static var queueDepth: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_queue_depth", unitName: "items", helpText: "Texts or prompts waiting for a batch, by model.")
    }
    static var running: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_running", unitName: "items", helpText: "Texts or prompts in the batch being run, by model.")
    }
    static var batchItems: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_batch", unitName: "items", helpText: "Texts or prompts per batch run, by model.")
    }
    static var batchSeconds: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_batch_duration", unitName: "seconds", helpText: "Time to run one batch, by model.")
    }
    static var tokens: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_input_tokens", unitName: "total", helpText: "Input tokens run through each model.")
    }
    static var tokensPerSecond: MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: "glossa_batch_tokens", unitName: "per_second", helpText: "Input tokens per second of the last batch, by model.")
    }
    static let latencyBuckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60].map { .milliseconds(Int64($0 * 1000)) }
}

/// Gauges set from a reading function each time the metrics are rendered.
private final class QueueProbes: @unchecked Sendable {
    private let lock = NSLock()
    private var probes: [(Gauge, @Sendable () -> Int)] = []

    func add(_ gauge: Gauge, _ read: @escaping @Sendable () -> Int) { lock.withLock { probes.append((gauge, read)) } }

    func update() {
        for (gauge, read) in lock.withLock({ probes }) { gauge.set(to: Double(read())) }
    }
}
