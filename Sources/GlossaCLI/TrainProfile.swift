import Foundation
import Glossa
import GlossaRecipes
import GlossaTensor

/// `glossa bench train --profile`: a few real training steps of a recipe through the one `Trainer`, split into
/// forward and backward per model part, the optimizer and data, with the matrix products' FLOP/s set against the
/// rate `cblas_sgemm` reaches on the same shapes replayed alone (model FLOPs utilisation).
enum TrainProfile {
    /// Runs `steps` steps of `recipeFile` (the first one a warm-up left out) and returns the report.
    static func run(recipeFile: String, steps: Int, plugins: PluginRegistry) throws -> String {
        var recipe = try Recipe.load(URL(fileURLWithPath: recipeFile))
        recipe.training.steps = steps + 1
        recipe.training.minutes = nil
        recipe.training.targetTokens = nil
        recipe.training.validateEvery = Int(Int32.max)
        recipe.training.validateEveryMinutes = nil
        recipe.training.validateEveryTokens = nil
        recipe.training.checkpointEvery = Int(Int32.max)
        // First the steps as training runs them (batches split over the threads), then again profiled: the profile
        // times every product split over the threads instead, since its clock and part marks are one per process.
        let asTrained = try timeSteps(recipe, steps: steps, plugins: plugins, profile: false)
        let profiled = try timeSteps(recipe, steps: steps, plugins: plugins, profile: true)
        return report(seconds: profiled.seconds, steps: steps, tokens: profiled.tokens, threads: Threads.count, asTrained: asTrained)
    }

    /// The seconds and target tokens of steps 2…steps+1 of `recipe` (the first a warm-up), with the profiler on or off.
    static func timeSteps(_ recipe: Recipe, steps: Int, plugins: PluginRegistry, profile: Bool) throws -> (seconds: Double, tokens: Int) {
        var recipe = recipe
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-profile-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        recipe.output = folder.path
        var started = 0.0, seconds = 0.0, tokens = 0
        var previousTokens = 0
        Profiler.isEnabled = false
        let run = RecipeRun(recipe: recipe, registry: plugins, resume: false, overwrite: true)
        _ = try run.run(stop: nil) { event in
            guard case .training(.step(let p)) = event else { return }
            let now = Date().timeIntervalSince1970
            if p.step == 1 {
                Profiler.clear()
                Profiler.isEnabled = profile
                started = now
                previousTokens = p.tokens
            } else if p.step == steps + 1 {
                Profiler.isEnabled = false
                seconds = now - started
                tokens = p.tokens - previousTokens
            }
        }
        return (seconds, tokens)
    }

    /// The table by part and phase, then the FLOP rate against sgemm on the recorded shapes.
    /// `asTrained`: the same steps unprofiled, as the trainer runs them.
    static func report(seconds: Double, steps: Int, tokens: Int, threads: Int, asTrained: (seconds: Double, tokens: Int)? = nil) -> String {
        struct Row { var forward = 0.0, backward = 0.0, flops = 0.0, alone = 0.0 }
        let (timings, peak) = replayedGemms()
        var rows: [String: Row] = [:]
        for (key, total) in Profiler.rows {
            if key.phase == .forward { rows[key.part, default: Row()].forward += total.seconds } else { rows[key.part, default: Row()].backward += total.seconds }
            rows[key.part, default: Row()].flops += total.flops
        }
        for (part, shapes) in Profiler.gemmShapes {
            for (shape, count) in shapes { rows[part, default: Row()].alone += Double(count) * (timings[shape] ?? 0) }
        }
        let perStep = 1.0 / Double(max(steps, 1))
        func ms(_ s: Double) -> String { String(format: "%9.1f", 1000 * s * perStep) }
        var lines = [String(format: "%d steps, %.2f s per step, %.0f target tokens/s, %d thread%@", steps, seconds * perStep,
                            Double(tokens) / max(seconds, 1e-9), threads, threads == 1 ? "" : "s")]
        lines.append("part                   forward ms backward ms   share  GFLOP/step  GFLOP/s  products alone ms  MFU")
        let profiled = rows.values.reduce(0) { $0 + $1.forward + $1.backward }
        for (part, row) in rows.sorted(by: { $0.value.forward + $0.value.backward > $1.value.forward + $1.value.backward }) {
            let time = row.forward + row.backward
            var line = part.padding(toLength: max(22, part.count), withPad: " ", startingAt: 0) + ms(row.forward) + "   " + ms(row.backward)
            line += String(format: "  %5.1f%%  %10.2f  %7.1f", 100 * time / max(profiled, 1e-9), row.flops * perStep / 1e9, row.flops > 0 ? row.flops / time / 1e9 : 0)
            if row.alone > 0 { line += "          " + ms(row.alone) + String(format: "  %3.0f%%", 100 * row.alone / max(time, 1e-9)) }
            lines.append(line)
        }
        let flops = rows.values.reduce(0) { $0 + $1.flops }, ideal = rows.values.reduce(0) { $0 + $1.alone }
        let gemmSeconds = Profiler.rows.filter { $0.key.primitive == "matmul" }.reduce(0) { $0 + $1.value.seconds }
        lines.append(String(format: "matrix products: %.1f GFLOP/step (counted as 2·m·n·k of every product, forward and backward), %.1f%% of the step's time in them",
                            flops * perStep / 1e9, 100 * gemmSeconds / max(profiled, 1e-9)))
        lines.append(String(format: "model FLOP/s: %.1f GFLOP/s over the whole step; the same products alone in cblas_sgemm: %.1f GFLOP/s (%.2f s per step)",
                            flops / max(seconds, 1e-9) / 1e9, flops / max(ideal, 1e-9) / 1e9, ideal * perStep))
        lines.append(String(format: "model FLOPs utilisation: %.1f%% of the sgemm rate on the same shapes, %.1f%% of its 512³ rate (%.1f GFLOP/s)",
                            100 * ideal / max(seconds, 1e-9), 100 * flops / max(seconds, 1e-9) / peak, peak / 1e9))
        if let asTrained, asTrained.seconds > 0 {
            lines.append(String(format: "as trained (no profiler; batches split over the %d threads where the objective allows): %.2f s per step, %.0f target tokens/s, "
                                + "%.1f GFLOP/s, model FLOPs utilisation %.1f%% of the sgemm rate on the same shapes",
                                threads, asTrained.seconds * perStep, Double(asTrained.tokens) / asTrained.seconds, flops / asTrained.seconds / 1e9,
                                100 * ideal / asTrained.seconds))
        }
        return lines.joined(separator: "\n")
    }

    /// The seconds one product of each recorded shape takes alone (best of a few runs, batched shapes spread over the
    /// threads as `Tensor.matmul` does), and the 512³ rate in FLOP/s.
    static func replayedGemms() -> (timings: [Profiler.GemmShape: Double], peak: Double) {
        var timings: [Profiler.GemmShape: Double] = [:]
        for shape in Set(Profiler.gemmShapes.values.flatMap(\.keys)) {
            let a = [Float](repeating: 0.5, count: shape.batch * shape.m * shape.k)
            let b = [Float](repeating: 0.25, count: shape.batch * shape.k * shape.n)
            var c = [Float](repeating: 0, count: shape.batch * shape.m * shape.n)
            timings[shape] = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                bestTime(seconds: 0.1) {
                    BLAS.batchedGemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, batch: shape.batch, m: shape.m, n: shape.n, k: shape.k,
                                     transA: shape.transA, transB: shape.transB)
                }
            } } }
        }
        let n = 512
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let time = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            bestTime(seconds: 0.3) { BLAS.gemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: n, n: n, k: n, transA: false, transB: false) }
        } } }
        return (timings, 2 * Double(n * n * n) / time)
    }
}
