import Foundation
import Testing
import GlossaNN
import GlossaTensor
import GlossaTestSupport

@Suite struct TrainingTests {
    @Test func crossEntropyMatchesHandComputation() {
        let logits = Tensor(rows: [[1, 2, 3], [0, 0, 0], [5, 1, 1]])
        let (loss, tokens) = Losses.crossEntropy(logits: logits, targets: [2, 1, -100], labelSmoothing: 0.1, ignoreIndex: -100)
        #expect(tokens == 2)
        func expected(_ row: [Double], _ t: Int) -> Double {
            let lse = Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +))
            let logp = row.map { $0 - lse }
            return 0.9 * -logp[t] + 0.1 * -(logp.reduce(0, +) / 3)
        }
        assertClose([loss.item], [Float((expected([1, 2, 3], 2) + expected([0, 0, 0], 1)) / 2)], rtol: 1e-5)
        checkGradients([logits]) { Losses.crossEntropy(logits: $0[0], targets: [2, 1, 0], labelSmoothing: 0.1).loss }
    }

    @Test func adamMinimisesAQuadraticAndRoundTripsItsState() throws {
        let w = Tensor([3, -2], requiresGrad: true)
        var adam = Adam(weightDecay: 0.01)
        for _ in 0..<300 {
            w.zeroGrad()
            ((w - Tensor([1, 1])).pow(2)).sum().backward()
            adam.step([("w", w)], learningRate: 0.05)
        }
        assertClose(w.scalars, [1, 1], atol: 0.05)
        var restored = Adam(weightDecay: 0.01)
        try restored.restore(adam.state())
        #expect(restored.steps == 300)
        let copy = Tensor(w.scalars, requiresGrad: true)
        for (param, var opt) in [(w, adam), (copy, restored)] {
            param.zeroGrad()
            (param * param).sum().backward()
            opt.step([("w", param)], learningRate: 0.01)
        }
        #expect(w.scalars == copy.scalars)
    }

    @Test func sgdWithMomentum() {
        let w = Tensor([5], requiresGrad: true)
        var sgd = SGD(momentum: 0.9)
        for _ in 0..<200 {
            w.zeroGrad()
            (w * w).sum().backward()
            sgd.step([("w", w)], learningRate: 0.01)
        }
        #expect(abs(w.item) < 0.05)
    }

    @Test func schedules() {
        let inv = LearningRateSchedule.inverseSquareRoot(peak: 7e-4, warmup: 1000)
        assertClose([inv.rate(at: 500), inv.rate(at: 1000), inv.rate(at: 4000)], [3.5e-4, 7e-4, 3.5e-4], rtol: 1e-5)
        // Cosine and linear decay over the share of the budget spent: half-way is half-way between peak and minimum.
        let cos = LearningRateSchedule.cosine(peak: 1, warmup: 10, total: 110, minimum: 0.1)
        let warming = Float(0.5 * (0.1 + 0.9 * 0.5 * (1 + Foundation.cos(Double.pi * 5 / 110))))
        assertClose([cos.rate(at: 5), cos.rate(at: 55), cos.rate(at: 110), cos.rate(at: 500)], [warming, 0.55, 0.1, 0.1], rtol: 1e-5)
        let linear = LearningRateSchedule(decay: .linear, peak: 1, warmup: 0, minimum: 0.2)
        assertClose([linear.rate(at: 1, progress: 0), linear.rate(at: 7, progress: 0.25), linear.rate(at: 9, progress: 1)], [1, 0.8, 0.2], rtol: 1e-5)
        let constant = LearningRateSchedule(decay: .constant, peak: 0.5, warmup: 4)
        assertClose([constant.rate(at: 2), constant.rate(at: 4), constant.rate(at: 40)], [0.25, 0.5, 0.5], rtol: 1e-5)
    }

    @Test func clippingScalesToTheGlobalNorm() {
        let a = Tensor([3], requiresGrad: true), b = Tensor([4], requiresGrad: true)
        (a * 3 + b * 4).sum().backward()  // gradients 3 and 4: norm 5
        let norm = clipGradientNorm([a, b], maxNorm: 1)
        #expect(norm == 5)
        assertClose([a.grad!.item, b.grad!.item], [0.6, 0.8], rtol: 1e-5)
    }

    @Test func dropoutOnlyWhenTraining() {
        let x = Tensor.ones([100])
        #expect(ForwardContext().dropout(x, 0.5).scalars == x.scalars)
        let trained = ForwardContext(training: true, seed: 1).dropout(x, 0.5).scalars
        #expect(trained.contains(0) && trained.contains(2))
    }

    @Test func sinusoidalPositionsFollowMarian() {
        let table = SinusoidalPositions.table(count: 3, dimension: 4)
        // position 2: sin(2), sin(2/100), cos(2), cos(2/100)
        assertClose(Array(table.scalars[8..<12]), [Float(sin(2.0)), Float(sin(0.02)), Float(cos(2.0)), Float(cos(0.02))], rtol: 1e-6)
    }
}
