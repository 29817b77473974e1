/// The primitive that produced a tensor and the tensors it read.
struct Origin {
    let primitive: Primitive
    let inputs: [Tensor]
    /// The model part current when it was made (profiling only; empty otherwise).
    var part = ""
}

/// Whether operations record themselves for backward. On by default; `withoutGrad` turns it off
/// for inference, where no tape is kept at all.
public enum GradMode {
    @TaskLocal static var enabled = true

    /// Whether the current task records operations.
    public static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording anything on the tape (inference, optimizer steps, gradient rules).
public func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(false, operation: body)
}

extension Tensor {
    /// Back-propagates from this tensor, accumulating into the `grad` of every leaf that requires it.
    /// A non-scalar output needs an explicit `seed` of its own shape. `leafGradientReady` is called with each leaf
    /// once its gradient of this pass is complete (data-parallel training starts summing it over processes then).
    /// With `collect`, each leaf's gradient of this pass goes to it instead of into the leaf's `grad` (a pass on another
    /// thread, whose sum the caller adds later), and `leafGradientReady` is not called.
    public func backward(seed: Tensor? = nil, leafGradientReady: ((Tensor) -> Void)? = nil,
                         collect: ((_ leaf: Tensor, _ gradient: Tensor) -> Void)? = nil) {
        let seed = seed ?? {
            precondition(count == 1, "backward() without a seed needs a one-element tensor, got \(shape)")
            return Tensor.ones(shape)
        }()
        precondition(seed.shape == shape, "seed shape \(seed.shape) does not match \(shape)")
        guard requiresGrad else { return }

        // Reverse topological order over the recorded graph (iterative DFS: graphs can be deep).
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.origin?.inputs ?? [] where input.requiresGrad && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }

        Profiler.backwardPass { withoutGrad {
            var pending: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed]
            // Pending gradients made here and referenced nowhere else, so slices may add into them in place.
            var owned = Set<ObjectIdentifier>()
            for node in order.reversed() {
                guard let g = pending.removeValue(forKey: ObjectIdentifier(node)) else { continue }
                owned.remove(ObjectIdentifier(node))
                guard let origin = node.origin else {
                    if node.requiresGrad {
                        if let collect {
                            collect(node, g)
                        } else {
                            node.accumulateGrad(g)
                            leafGradientReady?(node)
                        }
                    }
                    continue
                }
                // A loop that reads one step of a long tensor per iteration (an RNN over time) would pay for a
                // full-size padded gradient per step; adding each slice's gradient in place keeps it linear.
                if case .slice(let axis, let start) = origin.primitive, let input = origin.inputs.first, input.requiresGrad {
                    let key = ObjectIdentifier(input)
                    if owned.contains(key), let buffer = pending[key] {
                        buffer.addSlice(g, axis: axis, start: start)
                    } else {
                        let full = Tensor.zeros(input.shape)
                        full.addSlice(g, axis: axis, start: start)
                        if let earlier = pending[key] { full.addSlice(earlier, axis: 0, start: 0) }
                        pending[key] = full
                        owned.insert(key)
                    }
                    continue
                }
                let inputGrads = Profiler.backwardRule(part: origin.part, "∂" + origin.primitive.name) {
                    Gradients.backward(origin.primitive, inputs: origin.inputs, output: node, grad: g,
                                       needs: origin.inputs.map(\.requiresGrad))
                }
                for (input, ig) in zip(origin.inputs, inputGrads) where input.requiresGrad {
                    guard let ig else { continue }
                    let key = ObjectIdentifier(input)
                    if var sum = pending.removeValue(forKey: key) {
                        // A sum nothing else holds takes the new part in place (residual branches, q/k/v of one input).
                        if isKnownUniquelyReferenced(&sum), sum.shape == ig.shape {
                            sum.addInPlace(ig)
                            pending[key] = sum
                        } else {
                            pending[key] = sum + ig
                            owned.remove(key)
                        }
                    } else {
                        pending[key] = ig
                        owned.remove(key)
                    }
                }
            }
        } }
    }
}

extension Tensor {
    /// self += other, elementwise, for tensors of one shape (copying the scalars first if another tensor shares them).
    func addInPlace(_ other: Tensor) {
        other.scalars.withUnsafeBufferPointer { src in
            scalars.withUnsafeMutableBufferPointer { dst in
                for i in 0..<dst.count { dst[i] += src[i] }
            }
        }
    }

    /// Adds `g` into the block of this tensor that starts at `start` along `axis` (the in-place gradient of a slice).
    func addSlice(_ g: Tensor, axis: Int, start: Int) {
        let (outer, n, inner) = ShapeMath.split(shape, axis: axis)
        let width = g.shape.isEmpty ? 1 : g.shape[axis] * inner
        g.scalars.withUnsafeBufferPointer { src in
            scalars.withUnsafeMutableBufferPointer { dst in
                for o in 0..<outer {
                    let d = (o * n + start) * inner, s = o * width
                    for j in 0..<width { dst[d + j] += src[s + j] }
                }
            }
        }
    }
}
