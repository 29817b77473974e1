import Foundation
import GlossaTensor

/// A synthetic task with checkable answers: `What is 37 + 58?` → `95`. Problems are drawn from a seed;
/// a fixed tenth of all operand pairs is held out, so that training and held-out problems never meet.
public struct ArithmeticTask: Sendable, Equatable {
    /// Operands are drawn from `0...maxOperand`.
    public var maxOperand: Int
    /// The operators used (`+`, `-`).
    public var operators: [Character]

    /// A task over operands up to `maxOperand` with the given operators.
    public init(maxOperand: Int = 99, operators: [Character] = ["+"]) throws {
        guard (1...1_000_000_000).contains(maxOperand) else {
            throw GlossaError.invalidConfiguration("arithmetic max_operand must be in 1...1000000000, not \(maxOperand)")
        }
        guard !operators.isEmpty, operators.allSatisfy({ $0 == "+" || $0 == "-" }) else {
            throw GlossaError.invalidConfiguration("arithmetic operators must be + or -")
        }
        self.maxOperand = maxOperand
        self.operators = operators
    }

    /// One problem: the prompt and its answer.
    public struct Problem: Sendable, Equatable {
        /// `What is a + b?`.
        public var prompt: String
        /// The result as digits.
        public var answer: String

        /// A problem.
        public init(prompt: String, answer: String) {
            self.prompt = prompt
            self.answer = answer
        }
    }

    /// The problem of `a op b`.
    public static func problem(_ a: Int, _ op: Character, _ b: Int) -> Problem {
        Problem(prompt: "What is \(a) \(op) \(b)?", answer: String(op == "+" ? a + b : a - b))
    }

    /// Whether the pair belongs to the held-out tenth (a fixed hash, independent of any seed).
    public static func isHeldOut(_ a: Int, _ b: Int) -> Bool {
        var h = UInt64(a) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(b) &* 0xC2B2_AE3D_27D4_EB4F
        h ^= h >> 29
        return h % 10 == 0
    }

    /// `count` problems drawn with replacement from the training pairs (`heldOut` false) or the held-out ones.
    public func problems(count: Int, seed: UInt64, heldOut: Bool = false) -> [Problem] {
        var rng = SeededGenerator(seed: seed)
        var out: [Problem] = []
        out.reserveCapacity(count)
        while out.count < count {
            let a = Int(rng.next() % UInt64(maxOperand + 1)), b = Int(rng.next() % UInt64(maxOperand + 1))
            guard Self.isHeldOut(a, b) == heldOut else { continue }
            let op = operators[Int(rng.next() % UInt64(operators.count))]
            out.append(Self.problem(a, op, b))
        }
        return out
    }

    /// The tagged answer the reward asks for: `<answer>95</answer>`.
    public static func formatted(_ answer: String) -> String { "<answer>\(answer)</answer>" }
}
