#ifndef GLOSSA_KERNELS_H
#define GLOSSA_KERNELS_H
// Row kernels that Swift cannot vectorise at its baseline x86-64 target: each has an AVX2+FMA path
// chosen at run time and a portable fallback. Callers split rows across threads; these never allocate.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the AVX2+FMA paths are in use on this CPU.
int gk_has_avx2(void);

/// y[i] = exp(x[i]).
void gk_exp(const float *x, float *y, size_t n);

/// Row-wise softmax (or log-softmax when `log` is non-zero) of x * scale, rows of length `cols`.
void gk_softmax_rows(const float *x, float *y, size_t rows, size_t cols, float scale, int log);

/// The log-softmax of a row as `gk_softmax_rows(x, y, 1, cols, 1, 1)` writes it is (x[i] − max) − offset, bit for bit.
void gk_log_softmax_offset(const float *x, size_t cols, float *max, float *offset);

/// The search's step on one row of logits without writing its log-softmax: lp[t] = (x[t] − max) − offset as above,
/// tokens in `banned` (ascending) at −∞, score = base + lp. With `by_score` (beam search), merges the row's
/// continuations into the best-first list `rows`/`tokens`/`scores` of `*count` ≤ `k` entries, each after every entry
/// scoring at least as much; without (greedy), writes the row's first arg-max of lp as the only entry.
void gk_best_continuations(const float *x, size_t cols, const int64_t *banned, size_t nbanned, float base, int32_t row, int by_score,
                           size_t k, size_t *count, int32_t *rows, int32_t *tokens, float *scores);

/// Row-wise layer norm: y = (x - mean) * rstd * w + b; writes mean and rstd per row for backward.
/// `w` and `b` may be NULL (identity affine).
void gk_layernorm_rows(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                       size_t rows, size_t cols, float eps);

/// Backward of `gk_layernorm_rows` (or of the RMS norm when `mean` is NULL) over `rows` rows: writes dx and adds
/// each column's Σ g·x̂ into `dw` and Σ g into `db` (`db` may be NULL). `w` may be NULL (identity).
void gk_layernorm_backward_rows(const float *x, const float *g, const float *w, const float *mean, const float *rstd,
                                float *dx, float *dw, float *db, size_t rows, size_t cols);

/// Row-wise RMS norm: y = x * rstd * w; writes rstd per row. `w` may be NULL.
void gk_rmsnorm_rows(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps);

/// Elementwise activations (kind: 0 sigmoid, 1 tanh, 2 silu, 3 gelu-tanh, 4 gelu-erf).
void gk_activation(int kind, const float *x, float *y, size_t n);

/// Attention of one query per (row, head) over `t` cached positions, for incremental decoding:
/// for each of `rows` blocks (row r = b * heads + h), scores_j = q_r · k_rj + mask[b][j], p = softmax(scores),
/// out_r = Σ_j p_j v_rj. `q` and `out` are `[rows, d]`; keys and values of block r start at r * `stride`
/// floats and hold `t` positions of `d` (a cache with room to grow). `mask` is `[rows / heads, t]`, additive,
/// or NULL, rows `mask_stride` apart. With `lengths` (one per batch row b), block r attends only to its row's first
/// lengths[b] positions (rows of a continuous batch sit at different positions). `scratch` holds `t` floats. Masked
/// positions after a row's own change nothing (their weights are exactly 0 and the sums keep their lanes).
void gk_attention_step(const float *q, const float *k, const float *v, const float *mask, size_t mask_stride, const size_t *lengths,
                       float *out, float *scratch, size_t rows, size_t heads, size_t t, size_t d, size_t stride);

/// C = alpha · (init + A·B) with every element one fixed computation (init = C when `accumulate`, else 0, then one FMA
/// per k in order), so a row of C does not depend on M, N or the row's place: the batch-invariant product of inference.
/// A(i, p) = a[i·a_row + p·a_depth], B(p, j) = b[p·b_depth + j·b_column], C row-major with leading dimension `ldc`;
/// `pack` holds `gk_sgemm_pack_floats(k)` floats of scratch. `alpha` ≠ 1 only without `accumulate`.
void gk_sgemm(size_t m, size_t n, size_t k, const float *a, size_t a_row, size_t a_depth, const float *b, size_t b_depth,
              size_t b_column, float *c, size_t ldc, float alpha, int accumulate, float *pack);
/// The scratch `gk_sgemm` needs for depth `k`.
size_t gk_sgemm_pack_floats(size_t k);
/// The floats `gk_sgemm_pack_weights` writes for an `n`-column, depth-`k` B.
size_t gk_sgemm_packed_floats(size_t n, size_t k);
/// Packs all of B (k × n, element (k, j) at `b[k·b_depth + j·b_column]`) into the panels `gk_sgemm` would pack at every
/// call: a weight used by many products is packed once. Columns are padded with zeros to whole panels; the panels of
/// columns j0… (j0 a multiple of 16) start at `packed + j0·k`.
void gk_sgemm_pack_weights(size_t n, size_t k, const float *b, size_t b_depth, size_t b_column, float *packed);
/// `gk_sgemm` with B already packed by `gk_sgemm_pack_weights`: the same arithmetic, so the same results bitwise. With
/// `bias` (`n` floats; NULL for none) and no `accumulate`, each element starts from bias[j], as if C had been filled
/// with the bias and accumulated onto, without that pass over C.
void gk_sgemm_prepacked(size_t m, size_t n, size_t k, const float *a, size_t a_row, size_t a_depth, const float *packed,
                        const float *bias, float *c, size_t ldc, float alpha, int accumulate);

/// A 64-byte aligned buffer of at least `bytes` owned by the calling thread, one per `slot` (0…3), kept until the thread
/// ends and grown when asked for more: scratch that would otherwise be allocated per call (0: gk_sgemm's pack; 1: an
/// int8 product's codes; 2: its int32 result; 3: oneDNN's scratchpad). Its contents are not kept for the caller across
/// another call with the same slot on the same thread. NULL if memory ran out.
void *gk_thread_scratch(int slot, size_t bytes);

/// Counts one tensor buffer made by allocation (`reused` 0) or taken from TensorStorage's free list (1), for the
/// process and for the calling thread.
void gk_count_storage(int reused);
/// The counts so far: allocations or reuses, of the process or of the calling thread.
unsigned long long gk_storage_count(int reused, int this_thread);

/// Per row of `x`: lse = log Σ exp(x) (stable) and, when `total` is not NULL, total = Σ x.
void gk_logsumexp_rows(const float *x, size_t rows, size_t cols, float *lse, float *total);
/// y[i] = scale · exp(x[i] − shift) − offset (a softmax row from its log-sum-exp, scaled and shifted).
void gk_scaled_exp_shift(const float *x, float shift, float scale, float offset, float *y, size_t n);
/// dx = g · silu'(x) = g · σ(x) · (1 + x · (1 − σ(x))).
void gk_silu_backward(const float *g, const float *x, float *dx, size_t n);
/// Tells glibc's malloc to keep freed large buffers for reuse (no mmap/munmap per tensor).
void gk_keep_freed_memory(void);

#ifdef __cplusplus
}
#endif
#endif
