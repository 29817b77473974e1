import Testing
import GlossaTensor

/// Asserts that two arrays agree elementwise: |a − b| ≤ atol + rtol·|b|.
public func assertClose(
    _ a: [Float], _ b: [Float], rtol: Float = 1e-5, atol: Float = 1e-6,
    _ message: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(a.count == b.count, "count \(a.count) vs \(b.count) \(message)", sourceLocation: sourceLocation)
    let failure = zip(a, b).enumerated().first { !(abs($0.element.0 - $0.element.1) <= atol + rtol * abs($0.element.1)) }
    if let (i, pair) = failure {
        Issue.record("element \(i): \(pair.0) vs \(pair.1) (rtol \(rtol), atol \(atol)) \(message)", sourceLocation: sourceLocation)
    }
}

/// Asserts that two tensors have the same shape and close scalars.
public func assertClose(
    _ a: Tensor, _ b: Tensor, rtol: Float = 1e-5, atol: Float = 1e-6,
    _ message: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(a.shape == b.shape, "shape \(a.shape) vs \(b.shape) \(message)", sourceLocation: sourceLocation)
    assertClose(a.scalars, b.scalars, rtol: rtol, atol: atol, message, sourceLocation: sourceLocation)
}

/// Checks the autograd gradients of `f` at `inputs` against central finite differences.
///
/// The output is projected onto fixed random weights and summed in Double, so one scalar loss
/// exercises every output element; the function itself runs in Float32, so the step is 1e-2 and the
/// default tolerance is rtol 2e-2, atol 2e-3.
public func checkGradients(
    _ inputs: [Tensor], rtol: Double = 2e-2, atol: Double = 2e-3, step: Float = 1e-2, seed: UInt64 = 7,
    sourceLocation: SourceLocation = #_sourceLocation, _ f: ([Tensor]) -> Tensor
) {
    for x in inputs { x.requiresGrad = true; x.zeroGrad() }
    let probe = f(inputs)
    var rng = SeededGenerator(seed: seed)
    let weights = (0..<probe.count).map { _ in Double(Float.random(in: -1...1, using: &rng)) }
    let projection = Tensor(shape: probe.shape, scalars: weights.map(Float.init))
    (probe * projection).sum().backward()

    func loss() -> Double {
        let out = withoutGrad { f(inputs) }
        return zip(out.scalars, weights).reduce(0.0) { $0 + Double($1.0) * $1.1 }
    }
    for (which, x) in inputs.enumerated() {
        let analytic = x.grad?.scalars ?? [Float](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let saved = x.scalars[i]
            x.withMutableScalars { $0[i] = saved + step }
            let up = loss()
            x.withMutableScalars { $0[i] = saved - step }
            let down = loss()
            x.withMutableScalars { $0[i] = saved }
            let numeric = (up - down) / (2 * Double(step))
            let a = Double(analytic[i])
            #expect(abs(a - numeric) <= atol + rtol * abs(numeric),
                    "input \(which) element \(i): autograd \(a) vs finite difference \(numeric)", sourceLocation: sourceLocation)
        }
    }
}

/// A seeded normal tensor for tests.
public func randomTensor(_ shape: [Int], seed: UInt64, std: Float = 1) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor.normal(shape, std: std, using: &rng)
}
