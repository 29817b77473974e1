import Foundation
import Testing

/// Data-parallel training under Open MPI's `mpirun` (docs/distributed.md), on the tiny language-model recipe of
/// `TrainRunCLITests`: 2 ranks step like one process with twice the batch, an interrupted 2-rank run resumes
/// exactly, and a rank that dies ends the job and leaves its checkpoints whole.
@Suite(.serialized) struct DistributedCLITests {
    /// `mpirun`, which `scripts/bootstrap` installs (Debian's openmpi-bin).
    static func mpirun() throws -> URL {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        for folder in path.split(separator: ":").map(String.init) + ["/usr/bin"] {
            let url = URL(fileURLWithPath: folder).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw RunnerError(description: "mpirun not found on PATH: run scripts/bootstrap (it installs openmpi-bin)")
    }

    /// A started `mpirun -np ranks glossa args…` (or `glossa args…` alone with `ranks` 0), its stderr in a file.
    final class Job {
        let process = Process()
        let errors: URL
        /// Set in every rank's environment, so the test can find them in /proc.
        let tag = UUID().uuidString

        init(ranks: Int, _ args: [String], in folder: URL) throws {
            errors = folder.appendingPathComponent("stderr-\(tag)")
            try Data().write(to: errors)
            let glossa = try GlossaRunner.binary().path
            if ranks > 0 {
                process.executableURL = try DistributedCLITests.mpirun()
                // Local shared memory only, and no single-copy (ptrace) transfers, which containers often forbid.
                process.arguments = ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "\(ranks)",
                                     "--mca", "btl", "self,vader", "--mca", "btl_vader_single_copy_mechanism", "none", glossa] + args
            } else {
                process.executableURL = URL(fileURLWithPath: glossa)
                process.arguments = args
            }
            process.environment = ProcessInfo.processInfo.environment.merging(["GLOSSA_TEST_JOB": tag]) { $1 }
            let handle = try FileHandle(forWritingTo: errors)
            process.standardError = handle
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            try handle.close()
        }

        /// Waits at most `seconds` (then kills it and its ranks: a hung job fails the test instead of the suite); the
        /// exit status.
        func wait(seconds: Double = 180) -> Int32 {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                for rank in 0..<8 { if let pid = rankProcess(rank) { kill(pid, SIGKILL) } }
                kill(process.processIdentifier, SIGKILL)
            }
            process.waitUntilExit()
            return process.terminationStatus
        }

        var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

        /// The process id of rank `rank` (from its environment in /proc).
        func rankProcess(_ rank: Int) -> pid_t? {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
            for entry in entries {
                guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/environ") else { continue }
                let variables = Set(data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) })
                if variables.contains("GLOSSA_TEST_JOB=\(tag)") && variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
            }
            return nil
        }
    }

    /// Runs a job to the end; fails the test on a non-zero status.
    @discardableResult
    static func run(ranks: Int, _ args: [String], in folder: URL) throws -> String {
        let job = try Job(ranks: ranks, args, in: folder)
        let status = job.wait()
        #expect(status == 0, "\(ranks) ranks, \(args): status \(status)\n\(job.stderr)")
        return job.stderr
    }

    static func recipe(in folder: URL, name: String, training: [String: Any], model: [String: Any] = [:]) throws -> String {
        var recipe = try TrainRunCLITests.recipe(in: folder, training: training, model: model)
        recipe["output"] = folder.appendingPathComponent(name).path
        return try TrainRunCLITests.write(recipe, to: folder.appendingPathComponent("\(name).json"))
    }

    static func tensors(_ url: URL) throws -> [String: [Float]] {
        let data = try Data(contentsOf: url)
        let headerLength = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<8 + headerLength)) as? [String: Any] ?? [:]
        var result: [String: [Float]] = [:]
        for (name, info) in header where name != "__metadata__" {
            guard let info = info as? [String: Any], info["dtype"] as? String == "F32", let offsets = info["data_offsets"] as? [Int] else { continue }
            let bytes = data.subdata(in: 8 + headerLength + offsets[0]..<8 + headerLength + offsets[1])
            result[name] = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return result
    }

    func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glossa-mpi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// No dropout: the two runs differ only in how the batch's gradient is summed.
    static var deterministic: [String: Any] { ["hidden_dropout": 0.0, "attention_dropout": 0.0] }

    @Test func twoRanksStepLikeOneProcessWithTwiceTheBatch() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let steps = 5
        let settings: [String: Any] = ["steps": steps, "checkpoint_every": steps, "epsilon": 1e-6]
        let single = try Self.recipe(in: folder, name: "one", training: settings.merging(["max_tokens": 400]) { $1 }, model: Self.deterministic)
        let split = try Self.recipe(in: folder, name: "two", training: settings.merging(["max_tokens": 200]) { $1 }, model: Self.deterministic)
        try Self.run(ranks: 0, ["train", "--recipe", single, "--threads", "1"], in: folder)
        let log = try Self.run(ranks: 2, ["train", "--recipe", split, "--threads", "1"], in: folder)
        #expect(log.contains("data-parallel: 2 ranks"), "\(log)")

        let checkpoint = "checkpoints/step-\(String(format: "%07d", steps))/model.safetensors"
        let one = try Self.tensors(folder.appendingPathComponent("one/\(checkpoint)"))
        let two = try Self.tensors(folder.appendingPathComponent("two/\(checkpoint)"))
        #expect(!one.isEmpty && Set(one.keys) == Set(two.keys))
        // Summation order aside (each rank sums its shard, then the ranks' sums are added) the updates are the same:
        // every parameter within 1e-5 after 5 Adam updates at learning rate 0.003 (they move by about 0.015).
        var largest: Float = 0
        for (name, a) in one {
            guard let b = two[name], a.count == b.count else { Issue.record("\(name) differs in size"); continue }
            for i in a.indices { largest = max(largest, abs(a[i] - b[i])) }
        }
        #expect(largest <= 1e-5, "largest difference \(largest)")
        // Both saw the same tokens and the same training loss (over all ranks), and rank 0 recorded the all-reduce.
        func last(_ name: String) throws -> [String: Any] {
            let log = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("\(name)/training.json"))) as? [String: Any]
            return (log?["history"] as? [[String: Any]])?.last ?? [:]
        }
        let (a, b) = (try last("one"), try last("two"))
        #expect(a["step"] as? Int == steps && b["step"] as? Int == steps)
        #expect(a["tokens"] as? Int == b["tokens"] as? Int && (a["tokens"] as? Int ?? 0) > 0, "\(a) \(b)")
        #expect(abs((a["trainLoss"] as? Double ?? 0) - (b["trainLoss"] as? Double ?? 1)) < 1e-4, "\(a) \(b)")
        #expect(b["ranks"] as? Int == 2 && b["allReduceSeconds"] != nil && a["ranks"] == nil, "\(b)")
    }

    @Test func anInterruptedTwoRankRunResumesExactly() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        // Dropout on: a resumed rank must draw the masks it would have drawn.
        let model: [String: Any] = ["hidden_dropout": 0.1]
        let long = try Self.recipe(in: folder, name: "run", training: ["steps": 1_000_000, "checkpoint_every": 1_000_000], model: model)
        let job = try Job(ranks: 2, ["train", "--recipe", long, "--threads", "1"], in: folder)
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, job.process.isRunning, !job.stderr.contains("step ") {
            usleep(50_000)
        }
        usleep(1_000_000)
        // Ctrl-C on mpirun reaches the ranks as SIGTERM. The test sends it to rank 1 alone, itself: mpirun inherits the
        // test runner's blocked signals, and one rank's stop must stop them all, with rank 0 writing the checkpoint.
        guard let rank1 = job.rankProcess(1) else {
            _ = job.wait(seconds: 1)
            Issue.record("rank 1 not found: \(job.stderr)")
            return
        }
        kill(rank1, SIGTERM)
        let status = job.wait()
        let log = job.stderr
        #expect(status != 0, "\(log)")
        let saved = log.components(separatedBy: "interrupted: checkpoint saved at step ").dropFirst().first
            .flatMap { Int($0.prefix { $0.isNumber }) }
        guard let saved else {
            Issue.record("no interruption checkpoint: \(log)")
            return
        }
        let end = saved + 3
        let resumed = try Self.run(ranks: 2, ["train", "--recipe", long, "--resume", "--steps", "\(end)", "--threads", "1"], in: folder)
        #expect(resumed.contains("resumed from step-\(String(format: "%07d", saved))"), "\(resumed)")

        let straight = try Self.recipe(in: folder, name: "straight", training: ["steps": end, "checkpoint_every": 1_000_000], model: model)
        try Self.run(ranks: 2, ["train", "--recipe", straight, "--threads", "1"], in: folder)
        let last = "checkpoints/step-\(String(format: "%07d", end))"
        for file in ["model.safetensors", "optimizer.safetensors"] {
            let a = try Data(contentsOf: folder.appendingPathComponent("run/\(last)/\(file)"))
            let b = try Data(contentsOf: folder.appendingPathComponent("straight/\(last)/\(file)"))
            #expect(a == b, "\(file) after resuming at step \(saved) differs from the uninterrupted run's")
        }
    }

    @Test func aRankThatDiesEndsTheJobAndKeepsTheLastCheckpoint() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let recipe = try Self.recipe(in: folder, name: "run", training: ["steps": 1_000_000, "checkpoint_every": 10])
        let job = try Job(ranks: 2, ["train", "--recipe", recipe, "--threads", "1"], in: folder)
        let latest = folder.appendingPathComponent("run/checkpoints/latest.json")
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, job.process.isRunning, !FileManager.default.fileExists(atPath: latest.path) { usleep(20_000) }
        guard let victim = job.rankProcess(1) else {
            _ = job.wait(seconds: 1)
            Issue.record("rank 1 not found: \(job.stderr)")
            return
        }
        kill(victim, SIGKILL)
        let status = job.wait(seconds: 60)
        #expect(status != 0, "\(job.stderr)")
        #expect(job.stderr.contains("signal 9"), "mpirun names the rank that died: \(job.stderr)")
        // What rank 0 had written reads back: the run resumes from the newest checkpoint and trains on.
        let newest = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("run/checkpoints").path)
            .filter { $0.hasPrefix("step-") && FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/checkpoints/\($0)/trainer.json").path) }
            .sorted().last ?? ""
        let step = Int(newest.dropFirst(5)) ?? 0
        let resumed = try Self.run(ranks: 2, ["train", "--recipe", recipe, "--resume", "--steps", "\(step + 2)", "--threads", "1"], in: folder)
        #expect(step >= 10 && resumed.contains("resumed from \(newest)"), "\(newest): \(resumed)")
    }
}
