#include "glossa_kernels.h"
#include <immintrin.h>
#include <math.h>

// A matrix product whose every element is one fixed computation: c = init, then c = fma(A(i,k), B(k,j), c) for k in
// order, then c · alpha. No element's arithmetic depends on M, N, its place in a tile or how the product is split over
// threads, so a row of the result is bitwise the same alone or inside any batch (OpenBLAS's kernels sum a row
// differently depending on which of its M-tiles holds it). Panels of 16 columns of B are packed per call, as BLAS does;
// a 6×16 register tile makes it about as fast as OpenBLAS's sgemm from M ≈ 32 on.

#define AVX2 __attribute__((target("avx2,fma")))
#define NR 16
#define MR 6

AVX2 static void micro1(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
    }
    io[0] = c00; io[1] = c01;
}

AVX2 static void micro2(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    __m256 c10 = io[2], c11 = io[3];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
        { const __m256 x = _mm256_broadcast_ss(ak + 1 * ars); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); }
    }
    io[0] = c00; io[1] = c01;
    io[2] = c10; io[3] = c11;
}

AVX2 static void micro3(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    __m256 c10 = io[2], c11 = io[3];
    __m256 c20 = io[4], c21 = io[5];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
        { const __m256 x = _mm256_broadcast_ss(ak + 1 * ars); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); }
        { const __m256 x = _mm256_broadcast_ss(ak + 2 * ars); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); }
    }
    io[0] = c00; io[1] = c01;
    io[2] = c10; io[3] = c11;
    io[4] = c20; io[5] = c21;
}

AVX2 static void micro4(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    __m256 c10 = io[2], c11 = io[3];
    __m256 c20 = io[4], c21 = io[5];
    __m256 c30 = io[6], c31 = io[7];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
        { const __m256 x = _mm256_broadcast_ss(ak + 1 * ars); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); }
        { const __m256 x = _mm256_broadcast_ss(ak + 2 * ars); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); }
        { const __m256 x = _mm256_broadcast_ss(ak + 3 * ars); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31); }
    }
    io[0] = c00; io[1] = c01;
    io[2] = c10; io[3] = c11;
    io[4] = c20; io[5] = c21;
    io[6] = c30; io[7] = c31;
}

AVX2 static void micro5(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    __m256 c10 = io[2], c11 = io[3];
    __m256 c20 = io[4], c21 = io[5];
    __m256 c30 = io[6], c31 = io[7];
    __m256 c40 = io[8], c41 = io[9];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
        { const __m256 x = _mm256_broadcast_ss(ak + 1 * ars); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); }
        { const __m256 x = _mm256_broadcast_ss(ak + 2 * ars); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); }
        { const __m256 x = _mm256_broadcast_ss(ak + 3 * ars); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31); }
        { const __m256 x = _mm256_broadcast_ss(ak + 4 * ars); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41); }
    }
    io[0] = c00; io[1] = c01;
    io[2] = c10; io[3] = c11;
    io[4] = c20; io[5] = c21;
    io[6] = c30; io[7] = c31;
    io[8] = c40; io[9] = c41;
}

AVX2 static void micro6(size_t K, const float *a, size_t ars, size_t aks, const float *p, __m256 *io) {
    __m256 c00 = io[0], c01 = io[1];
    __m256 c10 = io[2], c11 = io[3];
    __m256 c20 = io[4], c21 = io[5];
    __m256 c30 = io[6], c31 = io[7];
    __m256 c40 = io[8], c41 = io[9];
    __m256 c50 = io[10], c51 = io[11];
    for (size_t k = 0; k < K; k++) {
        const __m256 b0 = _mm256_loadu_ps(p + k * 16), b1 = _mm256_loadu_ps(p + k * 16 + 8);
        const float *ak = a + k * aks;
        { const __m256 x = _mm256_broadcast_ss(ak + 0 * ars); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); }
        { const __m256 x = _mm256_broadcast_ss(ak + 1 * ars); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); }
        { const __m256 x = _mm256_broadcast_ss(ak + 2 * ars); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); }
        { const __m256 x = _mm256_broadcast_ss(ak + 3 * ars); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31); }
        { const __m256 x = _mm256_broadcast_ss(ak + 4 * ars); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41); }
        { const __m256 x = _mm256_broadcast_ss(ak + 5 * ars); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51); }
    }
    io[0] = c00; io[1] = c01;
    io[2] = c10; io[3] = c11;
    io[4] = c20; io[5] = c21;
    io[6] = c30; io[7] = c31;
    io[8] = c40; io[9] = c41;
    io[10] = c50; io[11] = c51;
}

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
// `pack` here.
AVX2 static void sgemm_avx2(size_t M, size_t N, size_t K, const float *a, size_t ars, size_t aks, const float *b, size_t bks,
                            size_t bns, const float *packed, float *c, size_t ldc, float alpha, int accumulate, float *pack) {
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
                if (!accumulate) {
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
            const float *aa = a + i0 * ars;
            switch (rows) {
            case 6: micro6(K, aa, ars, aks, panel, io); break;
            case 5: micro5(K, aa, ars, aks, panel, io); break;
            case 4: micro4(K, aa, ars, aks, panel, io); break;
            case 3: micro3(K, aa, ars, aks, panel, io); break;
            case 2: micro2(K, aa, ars, aks, panel, io); break;
            default: micro1(K, aa, ars, aks, panel, io); break;
            }
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

size_t gk_sgemm_pack_floats(size_t k) { return k * NR; }

void gk_sgemm(size_t m, size_t n, size_t k, const float *a, size_t a_row, size_t a_depth, const float *b, size_t b_depth,
              size_t b_column, float *c, size_t ldc, float alpha, int accumulate, float *pack) {
    if (gk_has_avx2()) sgemm_avx2(m, n, k, a, a_row, a_depth, b, b_depth, b_column, NULL, c, ldc, alpha, accumulate, pack);
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
                        float *c, size_t ldc, float alpha, int accumulate) {
    if (gk_has_avx2()) {
        sgemm_avx2(m, n, k, a, a_row, a_depth, NULL, 0, 0, packed, c, ldc, alpha, accumulate, NULL);
        return;
    }
    // Column j of B is column j % NR of panel j / NR, whose rows are NR apart: the scalar loop reads it in place.
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            const float *column = packed + (j / NR) * NR * k + j % NR;
            float acc = accumulate ? c[i * ldc + j] : 0;
            for (size_t kk = 0; kk < k; kk++) acc = fmaf(a[i * a_row + kk * a_depth], column[kk * NR], acc);
            c[i * ldc + j] = alpha != 1.0f ? acc * alpha : acc;
        }
    }
}
