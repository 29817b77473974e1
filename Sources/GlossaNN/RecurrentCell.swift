import Foundation
import GlossaTensor

/// The recurrent cell of every layer: Elman (tanh), GRU or LSTM, with PyTorch's gate order and equations.
public enum CellKind: String, Codable, Sendable, CaseIterable {
    case elman, gru, lstm

    /// Gates per hidden unit: the input and recurrent weights have gates × hidden rows.
    public var gates: Int {
        switch self {
        case .elman: return 1
        case .gru: return 3
        case .lstm: return 4
        }
    }
}

/// The state a cell carries from one step to the next: h, and c for an LSTM.
public struct RecurrentState {
    /// `[B, H]`.
    public var hidden: Tensor
    /// `[B, H]`, LSTM only.
    public var cell: Tensor?

    /// A state from its parts.
    public init(hidden: Tensor, cell: Tensor? = nil) {
        self.hidden = hidden
        self.cell = cell
    }

    /// The zero state of `batch` rows.
    public static func zeros(_ kind: CellKind, batch: Int, hidden: Int) -> RecurrentState {
        RecurrentState(hidden: Tensor.zeros([batch, hidden]), cell: kind == .lstm ? Tensor.zeros([batch, hidden]) : nil)
    }

    /// Rows `rows` of every part (beam reordering).
    public func selecting(rows: [Int]) -> RecurrentState {
        RecurrentState(hidden: hidden.indexSelect(axis: 0, rows), cell: cell?.indexSelect(axis: 0, rows))
    }

    /// Each part times `mask` `[B, 1]` (zero rows restart from the zero state).
    func masked(_ mask: Tensor) -> RecurrentState {
        RecurrentState(hidden: hidden * mask, cell: cell.map { $0 * mask })
    }

    /// This state where `keep` `[B, 1]` is non-zero, `old` elsewhere (padded steps leave the state as it was).
    public func keeping(_ keep: Tensor, else old: RecurrentState) -> RecurrentState {
        RecurrentState(hidden: hidden.selecting(where: keep, else: old.hidden),
                       cell: cell.flatMap { c in old.cell.map { c.selecting(where: keep, else: $0) } })
    }
}

/// One recurrent layer in one direction, laid out as PyTorch's `nn.GRU`/`nn.LSTM`/`nn.RNN` (gate rows r, z, n for
/// the GRU; i, f, g, o for the LSTM): `weight_ih` `[G·H, E]`, `weight_hh` `[G·H, H]`, `bias_ih`, `bias_hh`.
///
/// The input side of every step is one product over the whole sequence (`project`), so the loop does only the
/// recurrent product h·W_hhᵀ and the gate arithmetic per step.
public final class RecurrentCell: Module {
    /// Which cell.
    public let kind: CellKind
    /// E, the input width.
    public let inputSize: Int
    /// H, the state width.
    public let hiddenSize: Int
    /// `[G·H, E]`: every gate's input weights in one matrix.
    public let weightIH: Tensor
    /// `[G·H, H]`: every gate's recurrent weights in one matrix.
    public let weightHH: Tensor
    /// `[G·H]`.
    public let biasIH: Tensor
    /// `[G·H]`.
    public let biasHH: Tensor

    /// A cell initialised uniformly in ±1/√H (PyTorch's default), with an LSTM's forget-gate bias at 1
    /// (Jozefowicz et al. 2015) so that early gradients pass through the cell state.
    public init(_ kind: CellKind, inputSize: Int, hiddenSize: Int, generator: inout SeededGenerator) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let rows = kind.gates * hiddenSize, bound = 1 / Float(hiddenSize).squareRoot()
        weightIH = Tensor.uniform([rows, inputSize], low: -bound, high: bound, using: &generator, requiresGrad: true)
        weightHH = Tensor.uniform([rows, hiddenSize], low: -bound, high: bound, using: &generator, requiresGrad: true)
        biasIH = Tensor.uniform([rows], low: -bound, high: bound, using: &generator, requiresGrad: true)
        biasHH = Tensor.uniform([rows], low: -bound, high: bound, using: &generator, requiresGrad: true)
        if kind == .lstm {
            biasIH.withMutableScalars { b in for j in hiddenSize..<(2 * hiddenSize) { b[j] = 1 } }
            biasHH.withMutableScalars { b in for j in hiddenSize..<(2 * hiddenSize) { b[j] = 0 } }
        }
    }

    public var localParameters: [(name: String, tensor: Tensor)] {
        [("weight_ih", weightIH), ("weight_hh", weightHH), ("bias_ih", biasIH), ("bias_hh", biasHH)]
    }

    /// The input projections of every step in one product: `[..., E]` → `[..., G·H]`.
    public func project(_ x: Tensor) -> Tensor { x.matmul(weightIH, transposeOther: true, bias: biasIH) }

    /// One step from this step's projected input `gi` `[B, G·H]` and the previous state.
    public func step(_ gi: Tensor, _ state: RecurrentState) -> RecurrentState {
        let gh = state.hidden.matmul(weightHH, transposeOther: true, bias: biasHH)  // [B, G·H]
        return Self.gates(kind, gi: gi, gh: gh, state: state)
    }

    /// The gate arithmetic of one step, given both products (the bench times it apart from them).
    public static func gates(_ kind: CellKind, gi: Tensor, gh: Tensor, state: RecurrentState) -> RecurrentState {
        let h = state.hidden.shape[1]
        switch kind {
        case .elman:
            return RecurrentState(hidden: (gi + gh).tanh())
        case .gru:
            return RecurrentState(hidden: gi.gruCell(gh, state.hidden))
        case .lstm:
            guard let c = state.cell else { return RecurrentState(hidden: (gi + gh).tanh()) }
            let both = (gi + gh).lstmCell(c)  // [B, 2H]: h' then c'
            return RecurrentState(hidden: both.slice(axis: 1, 0..<h), cell: both.slice(axis: 1, h..<(2 * h)))
        }
    }

    /// Runs the layer over time-major inputs `[T, B, E]` from `initial`, forwards or (`reverse`) backwards,
    /// and returns every step's h as `[T, B, H]`. With `mask` (`[B × T]` row-major, true at real tokens),
    /// a reverse pass holds the state at zero through each row's trailing padding, so that every sequence's
    /// backward pass starts at its own last token.
    public func run(_ x: Tensor, initial: RecurrentState, reverse: Bool, mask: [Bool]? = nil) -> Tensor {
        let (t, b) = (x.shape[0], x.shape[1])
        let projected = project(x)  // [T, B, G·H]
        let width = kind.gates * hiddenSize
        var state = initial
        var outputs = [Tensor?](repeating: nil, count: t)
        for step in reverse ? Array((0..<t).reversed()) : Array(0..<t) {
            let gi = projected.slice(axis: 0, step..<(step + 1)).reshaped([b, width])
            state = self.step(gi, state)
            if reverse, let mask, (0..<b).contains(where: { !mask[$0 * t + step] }) {
                state = state.masked(Tensor(shape: [b, 1], scalars: (0..<b).map { mask[$0 * t + step] ? 1 : 0 }))
            }
            outputs[step] = state.hidden.reshaped([1, b, hiddenSize])
        }
        return Tensor.concat(outputs.compactMap { $0 }, axis: 0)
    }
}
