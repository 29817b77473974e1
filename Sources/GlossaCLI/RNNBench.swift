import Foundation
import Glossa
import GlossaNN

import GlossaTensor

/// The recurrent workload of `glossa bench`: one step of a GRU and an LSTM layer at batch 64, width 512, against
/// the time of the step's two matrix products alone (x·W_ihᵀ + b_ih and h·W_hhᵀ + b_hh). The ratio is the
/// fraction of a step that those products take: near 1 means the gate arithmetic costs little beside them.
enum RNNBench {
    static func run(seconds: Double) -> [BenchRow] {
        let (batch, width) = (64, 512)
        let x = KernelBench.randomInput([batch, width], seed: 11)
        let h = KernelBench.randomInput([batch, width], seed: 12)
        var rows: [BenchRow] = []
        for kind in [CellKind.gru, .lstm] {
            var rng = SeededGenerator(seed: 13)
            let cell = RecurrentCell(kind, inputSize: width, hiddenSize: width, generator: &rng)
            let state = RecurrentState(hidden: h, cell: kind == .lstm ? h : nil)
            let flops = 2.0 * 2 * Double(batch * width * kind.gates * width)
            let (step, products) = interleavedBestTimes(seconds: seconds, { _ = withoutGrad { cell.step(cell.project(x), state) } }, {
                withoutGrad {
                    _ = x.matmul(cell.weightIH, transposeOther: true, bias: cell.biasIH)
                    _ = h.matmul(cell.weightHH, transposeOther: true, bias: cell.biasHH)
                }
            })
            rows.append(BenchRow(workload: "rnn", shape: "\(kind.rawValue.uppercased()) step B\(batch) E\(width) H\(width), fwd",
                                 unit: "GFLOP/s", glossa: flops / step / 1e9, reference: flops / products / 1e9,
                                 referenceName: "its 2 matrix products only"))
        }
        rows.append(trainingStep(seconds: seconds, batch: batch, width: width, steps: 16))
        return rows
    }

    /// Forward and backward through 16 GRU steps (a training sequence), against the products' forward and
    /// backward alone (each product's backward is two more products of the same size).
    static func trainingStep(seconds: Double, batch: Int, width: Int, steps: Int) -> BenchRow {
        var rng = SeededGenerator(seed: 14)
        let cell = RecurrentCell(.gru, inputSize: width, hiddenSize: width, generator: &rng)
        let x = KernelBench.randomInput([steps, batch, width], seed: 15)
        let flops = 3 * 2.0 * 2 * Double(steps * batch * width * 3 * width)
        let w = Tensor(shape: [3 * width, width], scalars: cell.weightHH.scalars, requiresGrad: true)
        let hs = KernelBench.randomInput([batch, width], seed: 16)
        let (layer, products) = interleavedBestTimes(seconds: seconds, {
            cell.zeroGrad()
            let out = cell.run(x, initial: .zeros(.gru, batch: batch, hidden: width), reverse: false)
            out.backward(seed: Tensor.ones(out.shape))
        }, {
            w.zeroGrad()
            let projected = x.matmul(cell.weightIH, transposeOther: true)  // [T, B, 3H]
            projected.backward(seed: Tensor.ones(projected.shape))
            for _ in 0..<steps {
                let h = Tensor(shape: hs.shape, scalars: hs.scalars, requiresGrad: true)
                let gh = h.matmul(w, transposeOther: true)
                gh.backward(seed: Tensor.ones(gh.shape))
            }
        })
        cell.zeroGrad()
        return BenchRow(workload: "rnn", shape: "GRU layer T\(steps) B\(batch) H\(width), fwd+bwd", unit: "GFLOP/s",
                        glossa: flops / layer / 1e9, reference: flops / products / 1e9, referenceName: "its matrix products only")
    }

    /// The best time of `a` and of `b`, run alternately for about `seconds` each, so that a noisy machine slows
    /// both alike and their ratio stays meaningful.
    static func interleavedBestTimes(seconds: Double, _ a: () -> Void, _ b: () -> Void) -> (Double, Double) {
        a()
        b()
        var best = (Double.infinity, Double.infinity)
        let start = DispatchTime.now().uptimeNanoseconds
        var rounds = 0
        func time(_ body: () -> Void) -> Double {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        }
        while rounds < 3 || Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 < 2 * seconds {
            best.0 = min(best.0, time(a))
            best.1 = min(best.1, time(b))
            rounds += 1
            if rounds > 10_000 { break }
        }
        return best
    }
}
