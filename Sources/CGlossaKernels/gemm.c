#include "glossa_kernels.h"
#include <immintrin.h>
#include <math.h>

// A matrix product whose every element is one fixed computation: c = init, then c = fma(A(i,k), B(k,j), c) for k in
// order, then c · alpha. No element's arithmetic depends on M, N, its place in a tile or how the product is split over
// threads, so a row of the result is bitwise the same alone or inside any batch (OpenBLAS's kernels sum a row
// differently depending on which of its M-tiles holds it). Panels of 16 columns of B are packed per call, as BLAS does,
// or once for a weight (`gk_sgemm_pack_weights`). Register tiles of 6 rows × 16 columns (AVX2) or 6 × 32 (AVX-512, where
// the CPU has it: twice the work per instruction) compute the same FMAs in the same order, so both give the same bits.

#define AVX2 __attribute__((target("avx2,fma")))
#define NR 16
#define MR 6

// R rows of a 16-column panel `p` (two 256-bit halves per row): io[2r], io[2r + 1] accumulate row r, one FMA per k
// in order. Instantiated for each R below, so the loops over rows unroll and the accumulators stay in registers.
AVX2 static inline __attribute__((always_inline)) void tile256(const size_t R, size_t K, const float *a, size_t ars, size_t aks,
                                                               const float *p, __m256 *c) {
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        for (size_t r = 0; r < R; r++) {
            const __m256 x = _mm256_broadcast_ss(ak + r * ars);
            c[2 * r] = _mm256_fmadd_ps(x, b0, c[2 * r]);
            c[2 * r + 1] = _mm256_fmadd_ps(x, b1, c[2 * r + 1]);
        }
    }
}

#define TILE256(R)                                                                                                  \
    AVX2 static void tile256_##R(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {    \
        __m256 c[2 * R];                                                                                            \
        for (size_t i = 0; i < 2 * R; i++) c[i] = io[i];                                                            \
        tile256(R, K, a, ars, aks, p, c);                                                                           \
        for (size_t i = 0; i < 2 * R; i++) io[i] = c[i];                                                            \
    }
TILE256(1) TILE256(2) TILE256(3) TILE256(4) TILE256(5) TILE256(6)
typedef void (*tile256_fn)(size_t, const float *, size_t, size_t, const float *, __m256 *);
static const tile256_fn tiles256[MR] = {tile256_1, tile256_2, tile256_3, tile256_4, tile256_5, tile256_6};

// Rows become columns: r[i] holds row i of an 8×8 block on entry and column i on return.
AVX2 static inline void transpose8(__m256 *r) {
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20); r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20); r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20); r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20); r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

AVX2 static void pack_panel(const float *b, size_t bks, size_t bns, size_t K, size_t cols, float *pack) {
    if (bks == 1 && bns != 1) {
        // A weight [N, K] used transposed: each of the panel's columns is a row of B. Packing is a transpose, done in
        // 8×8 register blocks (element by element it took a quarter of a server's time at small M). Values are only
        // moved, so the product is unchanged.
        // Ask for the whole panel at once: read 8 rows at a time, as the transpose does, the hardware prefetcher
        // falls behind on weights that come from memory.
        for (size_t j = 0; j < cols; j++) {
            for (size_t k = 0; k < K; k += 16) _mm_prefetch((const char *)(b + j * bns + k), _MM_HINT_T0);
        }
        size_t k = 0;
        for (; k + 8 <= K; k += 8) {
            for (size_t half = 0; half < NR; half += 8) {
                __m256 r[8];
                for (size_t i = 0; i < 8; i++) r[i] = half + i < cols ? _mm256_loadu_ps(b + (half + i) * bns + k) : _mm256_setzero_ps();
                transpose8(r);
                for (size_t i = 0; i < 8; i++) _mm256_storeu_ps(pack + (k + i) * NR + half, r[i]);
            }
        }
        for (; k < K; k++) {
            for (size_t j = 0; j < NR; j++) pack[k * NR + j] = j < cols ? b[j * bns + k] : 0;
        }
        return;
    }
    if (bns == 1) {
        for (size_t k = 0; k < K; k++) {
            const float *s = b + k * bks;
            float *d = pack + k * NR;
            if (cols == NR) {
                _mm256_storeu_ps(d, _mm256_loadu_ps(s));
                _mm256_storeu_ps(d + 8, _mm256_loadu_ps(s + 8));
            } else {
                for (size_t j = 0; j < NR; j++) d[j] = j < cols ? s[j] : 0;
            }
        }
    } else {
        for (size_t j = 0; j < NR; j++) {
            float *d = pack + j;
            if (j < cols) {
                const float *s = b + j * bns;
                for (size_t k = 0; k < K; k++) d[k * NR] = s[k * bks];
            } else {
                for (size_t k = 0; k < K; k++) d[k * NR] = 0;
            }
        }
    }
}

// With `packed`, B's panels were packed once (`gk_sgemm_pack_weights`) and are read where they lie; else each is packed into
// `pack` here. With `bias` (and no `accumulate`), each element starts from bias[j] instead of 0: the value a C
// prefilled with the bias would give, without the pass over C.
AVX2 static void sgemm_avx2(size_t M, size_t N, size_t K, const float *a, size_t ars, size_t aks, const float *b, size_t bks,
                            size_t bns, const float *packed, const float *bias, float *c, size_t ldc, float alpha, int accumulate,
                            float *pack) {
    __m256 io[2 * MR];
    float tmp[NR];
    const __m256 va = _mm256_set1_ps(alpha);
    for (size_t j0 = 0; j0 < N; j0 += NR) {
        const size_t cols = N - j0 < NR ? N - j0 : NR;
        const float *panel = packed ? packed + j0 * K : pack;
        if (!packed) pack_panel(b + j0 * bns, bks, bns, K, cols, pack);
        for (size_t i0 = 0; i0 < M; i0 += MR) {
            const size_t rows = M - i0 < MR ? M - i0 : MR;
            float *cc = c + i0 * ldc + j0;
            for (size_t r = 0; r < rows; r++) {
                if (!accumulate && bias) {
                    for (size_t j = 0; j < NR; j++) tmp[j] = j < cols ? bias[j0 + j] : 0;
                    io[2 * r] = _mm256_loadu_ps(tmp);
                    io[2 * r + 1] = _mm256_loadu_ps(tmp + 8);
                } else if (!accumulate) {
                    io[2 * r] = io[2 * r + 1] = _mm256_setzero_ps();
                } else if (cols == NR) {
                    io[2 * r] = _mm256_loadu_ps(cc + r * ldc);
                    io[2 * r + 1] = _mm256_loadu_ps(cc + r * ldc + 8);
                } else {
                    for (size_t j = 0; j < NR; j++) tmp[j] = j < cols ? cc[r * ldc + j] : 0;
                    io[2 * r] = _mm256_loadu_ps(tmp);
                    io[2 * r + 1] = _mm256_loadu_ps(tmp + 8);
                }
            }
            tiles256[rows - 1](K, a + i0 * ars, ars, aks, panel, io);
            for (size_t r = 0; r < rows; r++) {
                __m256 o0 = io[2 * r], o1 = io[2 * r + 1];
                if (alpha != 1.0f) { o0 = _mm256_mul_ps(o0, va); o1 = _mm256_mul_ps(o1, va); }
                if (cols == NR) {
                    _mm256_storeu_ps(cc + r * ldc, o0);
                    _mm256_storeu_ps(cc + r * ldc + 8, o1);
                } else {
                    _mm256_storeu_ps(tmp, o0);
                    _mm256_storeu_ps(tmp + 8, o1);
                    for (size_t j = 0; j < cols; j++) cc[r * ldc + j] = tmp[j];
                }
            }
        }
    }
}

#define AVX512 __attribute__((target("avx512f,avx2,fma")))
#define MR512 6

// R rows × P panels of 16 columns: c[r·P + q] accumulates row r of panel q, panel q at p + q·16·K. Each element is
// the same fixed computation as in the AVX2 tiles (one FMA per k in order), in 512-bit registers.
AVX512 static inline __attribute__((always_inline)) void tile512(const size_t R, const size_t P, size_t K, const float *a, size_t ars,
                                                                 size_t aks, const float *p, __m512 *c) {
    for (size_t k = 0; k < K; k++) {
        __m512 b[2];
        for (size_t q = 0; q < P; q++) b[q] = _mm512_loadu_ps(p + q * 16 * K + k * 16);
        const float *ak = a + k * aks;
        for (size_t r = 0; r < R; r++) {
            const __m512 x = _mm512_set1_ps(ak[r * ars]);
            for (size_t q = 0; q < P; q++) c[r * P + q] = _mm512_fmadd_ps(x, b[q], c[r * P + q]);
        }
    }
}

#define TILE512(R, P)                                                                                                   \
    AVX512 static void tile512_##R##_##P(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m512 *io) { \
        __m512 c[R * P];                                                                                                \
        for (size_t i = 0; i < R * P; i++) c[i] = io[i];                                                                \
        tile512(R, P, K, a, ars, aks, p, c);                                                                            \
        for (size_t i = 0; i < R * P; i++) io[i] = c[i];                                                                \
    }
TILE512(1, 1) TILE512(2, 1) TILE512(3, 1) TILE512(4, 1) TILE512(5, 1) TILE512(6, 1)
TILE512(1, 2) TILE512(2, 2) TILE512(3, 2) TILE512(4, 2) TILE512(5, 2) TILE512(6, 2)

typedef void (*tile512_fn)(size_t, const float *, size_t, size_t, const float *, __m512 *);
static const tile512_fn tiles512[2][MR512] = {
    {tile512_1_1, tile512_2_1, tile512_3_1, tile512_4_1, tile512_5_1, tile512_6_1},
    {tile512_1_2, tile512_2_2, tile512_3_2, tile512_4_2, tile512_5_2, tile512_6_2},
};

AVX512 static void sgemm_avx512(size_t M, size_t N, size_t K, const float *a, size_t ars, size_t aks, const float *b, size_t bks,
                                size_t bns, const float *packed, const float *bias, float *c, size_t ldc, float alpha, int accumulate,
                                float *pack) {
    __m512 io[2 * MR512];
    const __m512 va = _mm512_set1_ps(alpha);
    for (size_t j0 = 0; j0 < N; j0 += 2 * NR) {
        const size_t cols = N - j0 < 2 * NR ? N - j0 : 2 * NR, panels = cols > NR ? 2 : 1;
        const float *panel = packed ? packed + j0 * K : pack;
        if (!packed) {
            for (size_t q = 0; q < panels; q++) {
                const size_t qc = cols - q * NR < NR ? cols - q * NR : NR;
                pack_panel(b + (j0 + q * NR) * bns, bks, bns, K, qc, pack + q * NR * K);
            }
        }
        __mmask16 masks[2];
        for (size_t q = 0; q < 2; q++) {
            const size_t qc = cols > q * NR ? (cols - q * NR < NR ? cols - q * NR : NR) : 0;
            masks[q] = (__mmask16)((1u << qc) - 1u);
        }
        for (size_t i0 = 0; i0 < M; i0 += MR512) {
            const size_t rows = M - i0 < MR512 ? M - i0 : MR512;
            float *cc = c + i0 * ldc + j0;
            for (size_t r = 0; r < rows; r++) {
                for (size_t q = 0; q < panels; q++) {
                    io[r * panels + q] = accumulate ? _mm512_maskz_loadu_ps(masks[q], cc + r * ldc + q * NR)
                                         : bias ? _mm512_maskz_loadu_ps(masks[q], bias + j0 + q * NR) : _mm512_setzero_ps();
                }
            }
            tiles512[panels - 1][rows - 1](K, a + i0 * ars, ars, aks, panel, io);
            for (size_t r = 0; r < rows; r++) {
                for (size_t q = 0; q < panels; q++) {
                    __m512 o = io[r * panels + q];
                    if (alpha != 1.0f) o = _mm512_mul_ps(o, va);
                    _mm512_mask_storeu_ps(cc + r * ldc + q * NR, masks[q], o);
                }
            }
        }
    }
}

// The same arithmetic element by element (fmaf rounds as the vector FMA does), for CPUs without AVX2.
static void sgemm_scalar(size_t M, size_t N, size_t K, const float *a, size_t ars, size_t aks, const float *b, size_t bks,
                         size_t bns, float *c, size_t ldc, float alpha, int accumulate) {
    for (size_t i = 0; i < M; i++) {
        for (size_t j = 0; j < N; j++) {
            float acc = accumulate ? c[i * ldc + j] : 0;
            for (size_t k = 0; k < K; k++) acc = fmaf(a[i * ars + k * aks], b[k * bks + j * bns], acc);
            c[i * ldc + j] = alpha != 1.0f ? acc * alpha : acc;
        }
    }
}

// Two panels: the AVX-512 tiles are 32 columns wide.
size_t gk_sgemm_pack_floats(size_t k) { return 2 * k * NR; }

static int has_avx512(void) {
    static int cached = -1;
    if (cached < 0) cached = gk_has_avx2() && __builtin_cpu_supports("avx512f");
    return cached;
}

void gk_sgemm(size_t m, size_t n, size_t k, const float *a, size_t a_row, size_t a_depth, const float *b, size_t b_depth,
              size_t b_column, float *c, size_t ldc, float alpha, int accumulate, float *pack) {
    if (has_avx512()) sgemm_avx512(m, n, k, a, a_row, a_depth, b, b_depth, b_column, NULL, NULL, c, ldc, alpha, accumulate, pack);
    else if (gk_has_avx2()) sgemm_avx2(m, n, k, a, a_row, a_depth, b, b_depth, b_column, NULL, NULL, c, ldc, alpha, accumulate, pack);
    else sgemm_scalar(m, n, k, a, a_row, a_depth, b, b_depth, b_column, c, ldc, alpha, accumulate);
}

size_t gk_sgemm_packed_floats(size_t n, size_t k) { return (n + NR - 1) / NR * NR * k; }

void gk_sgemm_pack_weights(size_t n, size_t k, const float *b, size_t b_depth, size_t b_column, float *packed) {
    for (size_t j0 = 0; j0 < n; j0 += NR) {
        const size_t cols = n - j0 < NR ? n - j0 : NR;
        float *panel = packed + j0 * k;
        if (gk_has_avx2()) {
            pack_panel(b + j0 * b_column, b_depth, b_column, k, cols, panel);
        } else {
            for (size_t kk = 0; kk < k; kk++) {
                for (size_t j = 0; j < NR; j++) panel[kk * NR + j] = j < cols ? b[kk * b_depth + (j0 + j) * b_column] : 0;
            }
        }
    }
}

void gk_sgemm_prepacked(size_t m, size_t n, size_t k, const float *a, size_t a_row, size_t a_depth, const float *packed,
                        const float *bias, float *c, size_t ldc, float alpha, int accumulate) {
    if (has_avx512()) {
        sgemm_avx512(m, n, k, a, a_row, a_depth, NULL, 0, 0, packed, bias, c, ldc, alpha, accumulate, NULL);
        return;
    }
    if (gk_has_avx2()) {
        sgemm_avx2(m, n, k, a, a_row, a_depth, NULL, 0, 0, packed, bias, c, ldc, alpha, accumulate, NULL);
        return;
    }
    // Column j of B is column j % NR of panel j / NR, whose rows are NR apart: the scalar loop reads it in place.
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            const float *column = packed + (j / NR) * NR * k + j % NR;
            float acc = accumulate ? c[i * ldc + j] : bias ? bias[j] : 0;
            for (size_t kk = 0; kk < k; kk++) acc = fmaf(a[i * a_row + kk * a_depth], column[kk * NR], acc);
            c[i * ldc + j] = alpha != 1.0f ? acc * alpha : acc;
        }
    }
}
