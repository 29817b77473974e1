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
                Profiler.isEnabled = true
                started = now
                previousTokens = p.tokens
            } else if p.step == steps + 1 {
                Profiler.isEnabled = false
                seconds = now - started
                tokens = p.tokens - previousTokens
            }
        }
        return report(seconds: seconds, steps: steps, tokens: tokens, threads: Threads.count)
    }

    /// The table by part and phase, then the FLOP rate against sgemm on the recorded shapes.
    static func report(seconds: Double, steps: Int, tokens: Int, threads: Int) -> String {
        struct Row { var seconds = 0.0, flops = 0.0 }
        var rows: [String: (forward: Row, backward: Row)] = [:]
        for (key, total) in Profiler.rows {
            var entry = rows[key.part] ?? (Row(), Row())
            if key.phase == .forward {
                entry.forward.seconds += total.seconds
                entry.forward.flops += total.flops
            } else {
                entry.backward.seconds += total.seconds
                entry.backward.flops += total.flops
            }
            rows[key.part] = entry
        }
        let perStep = 1.0 / Double(max(steps, 1))
        var lines = [String(format: "%d steps, %.2f s per step, %.0f target tokens/s, %d thread%@", steps, seconds * perStep,
                            Double(tokens) / max(seconds, 1e-9), threads, threads == 1 ? "" : "s")]
        lines.append("part                 forward ms  backward ms   share   GFLOP/step  GFLOP/s")
        let profiled = rows.values.reduce(0) { $0 + $1.forward.seconds + $1.backward.seconds }
        for (part, entry) in rows.sorted(by: { $0.value.forward.seconds + $0.value.backward.seconds > $1.value.forward.seconds + $1.value.backward.seconds }) {
            let time = entry.forward.seconds + entry.backward.seconds, flops = entry.forward.flops + entry.backward.flops
            lines.append(part.padding(toLength: max(20, part.count), withPad: " ", startingAt: 0) + String(format: " %10.1f %12.1f  %5.1f%%  %11.2f  %7.1f",
                                1000 * entry.forward.seconds * perStep, 1000 * entry.backward.seconds * perStep,
                                100 * time / max(profiled, 1e-9), flops * perStep / 1e9, flops > 0 ? flops / time / 1e9 : 0))
        }
        let flops = rows.values.reduce(0) { $0 + $1.forward.flops + $1.backward.flops }
        let gemmSeconds = Profiler.rows.filter { $0.key.primitive == "matmul" }.reduce(0) { $0 + $1.value.seconds }
        let (ideal, peak, byShape) = replayedGemmSeconds()
        lines.append(String(format: "matrix products: %.1f GFLOP/step (counted as 2·m·n·k of every product, forward and backward), %.1f%% of the step's time in them",
                            flops * perStep / 1e9, 100 * gemmSeconds / max(profiled, 1e-9)))
        lines.append(String(format: "model FLOP/s: %.1f GFLOP/s over the whole step; the same products alone in cblas_sgemm: %.1f GFLOP/s (%.1f s per step)",
                            flops / max(seconds, 1e-9) / 1e9, flops / max(ideal, 1e-9) / 1e9, ideal * perStep))
        lines.append(String(format: "model FLOPs utilisation: %.1f%% of the sgemm rate on the same shapes, %.1f%% of its 512³ rate (%.1f GFLOP/s)",
                            100 * ideal / max(seconds, 1e-9), 100 * flops / max(seconds, 1e-9) / peak, peak / 1e9))
        for batched in [false, true] {
            let group = byShape.filter { ($0.0.batch > 1) == batched }
            let time = group.reduce(0) { $0 + $1.2 }, work = group.reduce(0) { $0 + $1.0.flops * Double($1.1) }
            lines.append(String(format: "%@ products alone: %.1f GFLOP/step in %.1f ms/step, %.1f GFLOP/s", batched ? "batched (per head)" : "single", work * perStep / 1e9,
                                1000 * time * perStep, work / max(time, 1e-9) / 1e9))
        }
        lines.append("the products that take longest alone (per step): shape, calls, ms, GFLOP/s")
        for (shape, count, time) in byShape.sorted(by: { $0.2 > $1.2 }).prefix(12) {
            lines.append(String(format: "  %-28@ %5.1f %8.1f %7.1f", shape.description as NSString, Double(count) * perStep, 1000 * time * perStep,
                                shape.flops * Double(count) / time / 1e9))
        }
        return lines.joined(separator: "\n")
    }

    /// The seconds `BLAS.gemm` takes for every product recorded (each distinct shape timed alone, best of a few runs,
    /// batched shapes spread over the threads as `Tensor.matmul` does), and the 512³ rate in FLOP/s.
    static func replayedGemmSeconds() -> (seconds: Double, peak: Double, byShape: [(Profiler.GemmShape, Int, Double)]) {
        var total = 0.0
        var byShape: [(Profiler.GemmShape, Int, Double)] = []
        for (shape, count) in Profiler.gemmShapes {
            let a = [Float](repeating: 0.5, count: shape.batch * shape.m * shape.k)
            let b = [Float](repeating: 0.25, count: shape.batch * shape.k * shape.n)
            var c = [Float](repeating: 0, count: shape.batch * shape.m * shape.n)
            let time = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                bestTime(seconds: 0.15) {
                    BLAS.batchedGemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, batch: shape.batch, m: shape.m, n: shape.n, k: shape.k,
                                     transA: shape.transA, transB: shape.transB)
                }
            } } }
            total += time * Double(count)
            byShape.append((shape, count, time * Double(count)))
        }
        let n = 512
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        let time = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
            bestTime(seconds: 0.3) { BLAS.gemm(pa.baseAddress!, pb.baseAddress!, pc.baseAddress!, m: n, n: n, k: n, transA: false, transB: false) }
        } } }
        return (total, 2 * Double(n * n * n) / time, byShape)
    }
}
