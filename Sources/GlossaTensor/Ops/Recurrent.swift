import CGlossaKernels

// Fused gate arithmetic of the GRU and LSTM cells (PyTorch's equations and gate order). A step's two
// matrix products stay BLAS calls; what follows them would be a dozen small elementwise ops and slices,
// each with its own allocation and tape entry, so it is one primitive with one backward rule instead.

extension Tensor {
    /// The GRU update from `self` = x·W_ihᵀ + b_ih `[B, 3H]`, `gh` = h·W_hhᵀ + b_hh `[B, 3H]` (gate blocks
    /// r, z, n) and the previous state `h` `[B, H]`:
    /// r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r ⊙ gh_n), h' = (1 − z) ⊙ n + z ⊙ h.
    public func gruCell(_ gh: Tensor, _ h: Tensor) -> Tensor {
        let (b, width) = (h.shape[0], h.shape[1])
        precondition(rank == 2 && shape == [b, 3 * width] && gh.shape == shape, "gruCell needs gi, gh [B, 3H] and h [B, H], got \(shape), \(gh.shape), \(h.shape)")
        var gates = [Float](repeating: 0, count: b * 3 * width)  // r, z, n per row, for the backward rule
        let out = scalars.withUnsafeBufferPointer { gi in gh.scalars.withUnsafeBufferPointer { gh in h.scalars.withUnsafeBufferPointer { hp in
            gates.withUnsafeMutableBufferPointer { act in
                makeScalars(b * width) { y in
                    guard let pgi = gi.baseAddress, let pgh = gh.baseAddress, let pa = act.baseAddress else { return }
                    parallelChunks(b, cost: width * 24) { rows in
                        for row in rows {
                            let o = row * 3 * width, a = pa + o
                            for j in 0..<(2 * width) { a[j] = pgi[o + j] + pgh[o + j] }
                            gk_activation(0, a, a, 2 * width)
                            for j in 0..<width { a[2 * width + j] = pgi[o + 2 * width + j] + a[j] * pgh[o + 2 * width + j] }
                            gk_activation(1, a + 2 * width, a + 2 * width, width)
                            for j in 0..<width {
                                let z = a[width + j], n = a[2 * width + j]
                                y[row * width + j] = n + z * (hp[row * width + j] - n)
                            }
                        }
                    }
                }
            }
        } } }
        return Tensor(shape: h.shape, scalars: out, primitive: .gruCell(gates: gates), inputs: [self, gh, h])
    }

    /// The LSTM update from the summed pre-activations `self` = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh `[B, 4H]`
    /// (gate blocks i, f, g, o) and the previous cell state `c` `[B, H]`: c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g),
    /// h' = σ(o) ⊙ tanh(c'). Returns `[B, 2H]`: h' in the first half of each row, c' in the second.
    public func lstmCell(_ c: Tensor) -> Tensor {
        let (b, width) = (c.shape[0], c.shape[1])
        precondition(rank == 2 && shape == [b, 4 * width], "lstmCell needs gates [B, 4H] and c [B, H], got \(shape), \(c.shape)")
        var gates = [Float](repeating: 0, count: b * 5 * width)  // σ(i), σ(f), tanh(g), σ(o), tanh(c') per row
        let out = scalars.withUnsafeBufferPointer { pre in c.scalars.withUnsafeBufferPointer { cp in
            gates.withUnsafeMutableBufferPointer { act in
                makeScalars(b * 2 * width) { y in
                    guard let pp = pre.baseAddress, let pa = act.baseAddress, let py = y.baseAddress else { return }
                    parallelChunks(b, cost: width * 40) { rows in
                        for row in rows {
                            let a = pa + row * 5 * width, src = pp + row * 4 * width, dst = py + row * 2 * width
                            gk_activation(0, src, a, 2 * width)
                            gk_activation(1, src + 2 * width, a + 2 * width, width)
                            gk_activation(0, src + 3 * width, a + 3 * width, width)
                            for j in 0..<width { dst[width + j] = a[width + j] * cp[row * width + j] + a[j] * a[2 * width + j] }
                            gk_activation(1, dst + width, a + 4 * width, width)
                            for j in 0..<width { dst[j] = a[3 * width + j] * a[4 * width + j] }
                        }
                    }
                }
            }
        } }
        return Tensor(shape: [b, 2 * width], scalars: out, primitive: .lstmCell(gates: gates), inputs: [self, c])
    }
}

enum RecurrentGradients {
    /// d gi, d gh, d h of `gruCell` (inputs gi, gh, h) from the gradient of h'.
    static func gru(_ x: [Tensor], _ g: Tensor, gates: [Float]) -> [Tensor?] {
        let (b, width) = (x[2].shape[0], x[2].shape[1])
        var dgi = [Float](repeating: 0, count: b * 3 * width), dgh = dgi
        var dh = [Float](repeating: 0, count: b * width)
        let gh = x[1].scalars, hp = x[2].scalars, gs = g.scalars
        for row in 0..<b {
            let o = row * 3 * width
            for j in 0..<width {
                let r = gates[o + j], z = gates[o + width + j], n = gates[o + 2 * width + j]
                let gy = gs[row * width + j], h = hp[row * width + j]
                let dnPre = gy * (1 - z) * (1 - n * n)
                let dzPre = gy * (h - n) * z * (1 - z)
                let drPre = dnPre * gh[o + 2 * width + j] * r * (1 - r)
                dgi[o + j] = drPre; dgh[o + j] = drPre
                dgi[o + width + j] = dzPre; dgh[o + width + j] = dzPre
                dgi[o + 2 * width + j] = dnPre; dgh[o + 2 * width + j] = dnPre * r
                dh[row * width + j] = gy * z
            }
        }
        return [Tensor(shape: x[0].shape, scalars: dgi), Tensor(shape: x[1].shape, scalars: dgh), Tensor(shape: x[2].shape, scalars: dh)]
    }

    /// d pre-activations and d c of `lstmCell` (inputs gates, c) from the gradient of [h', c'].
    static func lstm(_ x: [Tensor], _ g: Tensor, gates: [Float]) -> [Tensor?] {
        let (b, width) = (x[1].shape[0], x[1].shape[1])
        var dpre = [Float](repeating: 0, count: b * 4 * width)
        var dc = [Float](repeating: 0, count: b * width)
        let cp = x[1].scalars, gs = g.scalars
        for row in 0..<b {
            let a = row * 5 * width, d = row * 4 * width
            for j in 0..<width {
                let i = gates[a + j], f = gates[a + width + j], gg = gates[a + 2 * width + j]
                let o = gates[a + 3 * width + j], tc = gates[a + 4 * width + j]
                let dhOut = gs[row * 2 * width + j]
                let dcNew = gs[row * 2 * width + width + j] + dhOut * o * (1 - tc * tc)
                dpre[d + j] = dcNew * gg * i * (1 - i)
                dpre[d + width + j] = dcNew * cp[row * width + j] * f * (1 - f)
                dpre[d + 2 * width + j] = dcNew * i * (1 - gg * gg)
                dpre[d + 3 * width + j] = dhOut * tc * o * (1 - o)
                dc[row * width + j] = dcNew * f
            }
        }
        return [Tensor(shape: x[0].shape, scalars: dpre), Tensor(shape: x[1].shape, scalars: dc)]
    }
}
