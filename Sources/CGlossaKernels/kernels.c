#include "glossa_kernels.h"
#include <math.h>
#include <immintrin.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

// ---- portable reference paths -------------------------------------------------------------------

static void exp_scalar(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

static float act_scalar(int kind, float v) {
    switch (kind) {
    case 0: return 1.0f / (1.0f + expf(-v));
    case 1: return tanhf(v);
    case 2: return v / (1.0f + expf(-v));
    case 3: return 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    default: return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
    }
}

// ---- AVX2 + FMA paths ---------------------------------------------------------------------------

#define AVX2 __attribute__((target("avx2,fma")))

// exp(x) = 2^n * e^r with n = round(x / ln 2), r in [-ln2/2, ln2/2]; degree-6 polynomial for e^r
// (relative error about 2e-7 over the range, the same order as expf).
AVX2 static inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365478515625f);
    // Below the range the result is exactly 0 (not the clamp's 1e-38): a masked score then adds nothing at all to a
    // sum, so a row's softmax does not change with the masked padding after it (batch invariance).
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

// Lanes 0..<n set (n ≤ 8), for loads and stores of a row's last partial vector.
AVX2 static inline __m256i lanes(size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

AVX2 static void exp_avx2(const float *x, float *y, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp8(_mm256_loadu_ps(x + i)));
    for (; i < n; i++) y[i] = expf(x[i]);
}

// A row's maximum (0 for a fully masked row, so it stays finite and uniform) and Σ exp((x − max)·scale), summed in
// the lanes and then across them; with `y`, the exponentials are stored too. The softmax kernels and the search's
// log-softmax offset share it, so both see the same bits.
AVX2 static float row_exp_sum_avx2(const float *xr, float *yr, size_t cols, float scale, float *max_out) {
    const __m256 vs = _mm256_set1_ps(scale);
    __m256 vm = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= cols; i += 8) vm = _mm256_max_ps(vm, _mm256_loadu_ps(xr + i));
    float m = hmax8(vm);
    for (; i < cols; i++) m = xr[i] > m ? xr[i] : m;
    if (m == -INFINITY) m = 0; // a fully masked row: keep it finite and uniform
    const __m256 vmax = _mm256_set1_ps(m);
    __m256 vsum = _mm256_setzero_ps();
    for (i = 0; i + 8 <= cols; i += 8) {
        __m256 e = exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmax), vs));
        vsum = _mm256_add_ps(vsum, e);
        if (yr) _mm256_storeu_ps(yr + i, e);
    }
    // The last partial vector joins the same lanes as a full one would, its missing lanes adding exactly 0: a row
    // sums the same with or without masked padding after it (its exponentials are 0 too).
    if (i < cols) {
        const __m256i keep = lanes(cols - i);
        __m256 e = _mm256_and_ps(exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(xr + i, keep), vmax), vs)), _mm256_castsi256_ps(keep));
        vsum = _mm256_add_ps(vsum, e);
        if (yr) _mm256_maskstore_ps(yr + i, keep, e);
    }
    *max_out = m;
    return hsum8(vsum);
}

AVX2 static void softmax_avx2(const float *x, float *y, size_t rows, size_t cols, float scale, int log) {
    const __m256 vs = _mm256_set1_ps(scale);
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m;
        const float sum = row_exp_sum_avx2(xr, log ? NULL : yr, cols, scale, &m);
        const __m256 vmax = _mm256_set1_ps(m);
        size_t i;
        if (log) {
            const __m256 off = _mm256_set1_ps(logf(sum));
            for (i = 0; i + 8 <= cols; i += 8)
                _mm256_storeu_ps(yr + i, _mm256_sub_ps(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmax), vs), off));
            for (; i < cols; i++) yr[i] = (xr[i] - m) * scale - logf(sum);
        } else {
            const float invs = 1.0f / sum;
            const __m256 inv = _mm256_set1_ps(invs);
            for (i = 0; i + 8 <= cols; i += 8) _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(yr + i), inv));
            for (; i < cols; i++) yr[i] *= invs;
        }
    }
}

AVX2 static void layernorm_avx2(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                                size_t rows, size_t cols, float eps, int rms) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mu = 0;
        size_t i = 0;
        if (!rms) {
            __m256 acc = _mm256_setzero_ps();
            for (; i + 8 <= cols; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xr + i));
            mu = hsum8(acc);
            for (; i < cols; i++) mu += xr[i];
            mu /= (float)cols;
        }
        const __m256 vmu = _mm256_set1_ps(mu);
        __m256 acc = _mm256_setzero_ps();
        float var = 0;
        for (i = 0; i + 8 <= cols; i += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu);
            acc = _mm256_fmadd_ps(d, d, acc);
        }
        var = hsum8(acc);
        for (; i < cols; i++) var += (xr[i] - mu) * (xr[i] - mu);
        float rs = 1.0f / sqrtf(var / (float)cols + eps);
        if (mean) mean[r] = mu;
        rstd[r] = rs;
        const __m256 vrs = _mm256_set1_ps(rs);
        for (i = 0; i + 8 <= cols; i += 8) {
            __m256 v = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu), vrs);
            if (w) v = _mm256_mul_ps(v, _mm256_loadu_ps(w + i));
            if (b) v = _mm256_add_ps(v, _mm256_loadu_ps(b + i));
            _mm256_storeu_ps(yr + i, v);
        }
        for (; i < cols; i++) {
            float v = (xr[i] - mu) * rs;
            if (w) v *= w[i];
            if (b) v += b[i];
            yr[i] = v;
        }
    }
}

// GELU with erf: 0.5·v·(1 + erf(v/√2)). erfc(|x|) ≈ q = poly(t)·exp(-x²), t = 1/(1 + p|x|) (Abramowitz & Stegun
// 7.1.26, absolute error ≤ 1.5e-7); 1 + erf(x) is q for x < 0 (no cancellation in the left tail) and 2 − q otherwise.
AVX2 static inline __m256 gelu_erf8(__m256 v) {
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256 x = _mm256_mul_ps(v, _mm256_set1_ps(0.7071067811865476f));
    __m256 ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, one));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 q = _mm256_mul_ps(p, exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax))));
    __m256 negative = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
    __m256 s = _mm256_blendv_ps(_mm256_sub_ps(_mm256_set1_ps(2.0f), q), q, negative);
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), s);
}

AVX2 static void activation_avx2(int kind, const float *x, float *y, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(0.5f), two = _mm256_set1_ps(2.0f);
    size_t i = 0;
    if (kind <= 3) {
        for (; i + 8 <= n; i += 8) {
            __m256 v = _mm256_loadu_ps(x + i), out;
            if (kind == 0 || kind == 2) {
                __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
                out = kind == 0 ? s : _mm256_mul_ps(v, s);
            } else {
                __m256 u = v;
                if (kind == 3) {
                    __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
                    u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), v3, v));
                }
                // tanh(u) = 2 / (1 + exp(-2u)) - 1
                __m256 t = _mm256_sub_ps(_mm256_div_ps(two, _mm256_add_ps(one, exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), u)))), one);
                out = kind == 1 ? t : _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, t));
            }
            _mm256_storeu_ps(y + i, out);
        }
    } else if (kind == 4) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, gelu_erf8(_mm256_loadu_ps(x + i)));
    }
    for (; i < n; i++) y[i] = act_scalar(kind, x[i]);
}

// ---- dispatch -----------------------------------------------------------------------------------

AVX2 static void logsumexp_avx2(const float *x, size_t rows, size_t cols, float *lse, float *total) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        __m256 vmax = _mm256_set1_ps(-INFINITY), vsum = _mm256_setzero_ps();
        size_t i = 0;
        for (; i + 8 <= cols; i += 8) {
            __m256 v = _mm256_loadu_ps(xr + i);
            vmax = _mm256_max_ps(vmax, v);
            vsum = _mm256_add_ps(vsum, v);
        }
        float m = hmax8(vmax), sum = hsum8(vsum);
        for (; i < cols; i++) { m = xr[i] > m ? xr[i] : m; sum += xr[i]; }
        if (m == -INFINITY) m = 0;
        const __m256 vm = _mm256_set1_ps(m);
        __m256 acc = _mm256_setzero_ps();
        for (i = 0; i + 8 <= cols; i += 8) acc = _mm256_add_ps(acc, exp8(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vm)));
        float e = hsum8(acc);
        for (; i < cols; i++) e += expf(xr[i] - m);
        lse[r] = m + logf(e);
        if (total) total[r] = sum;
    }
}

AVX2 static void softmax_shift_avx2(const float *x, float shift, float scale, float offset, float *y, size_t n) {
    const __m256 vs = _mm256_set1_ps(shift), vg = _mm256_set1_ps(scale), vo = _mm256_set1_ps(offset);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmsub_ps(vg, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vs)), vo));
    for (; i < n; i++) y[i] = scale * expf(x[i] - shift) - offset;
}

AVX2 static void silu_backward_avx2(const float *g, const float *x, float *dx, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 s = _mm256_div_ps(one, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), v))));
        __m256 d = _mm256_mul_ps(s, _mm256_fmadd_ps(v, _mm256_sub_ps(one, s), one));
        _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(g + i), d));
    }
    for (; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

int gk_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}

void gk_exp(const float *x, float *y, size_t n) {
    if (gk_has_avx2()) exp_avx2(x, y, n); else exp_scalar(x, y, n);
}

// The portable twin of row_exp_sum_avx2.
static float row_exp_sum_scalar(const float *xr, size_t cols, float scale, float *max_out) {
    float m = -INFINITY, sum = 0;
    for (size_t i = 0; i < cols; i++) m = xr[i] > m ? xr[i] : m;
    if (m == -INFINITY) m = 0;
    for (size_t i = 0; i < cols; i++) sum += expf((xr[i] - m) * scale);
    *max_out = m;
    return sum;
}

void gk_softmax_rows(const float *x, float *y, size_t rows, size_t cols, float scale, int log) {
    if (gk_has_avx2()) { softmax_avx2(x, y, rows, cols, scale, log); return; }
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m;
        const float sum = row_exp_sum_scalar(xr, cols, scale, &m);
        for (size_t i = 0; i < cols; i++)
            yr[i] = log ? (xr[i] - m) * scale - logf(sum) : expf((xr[i] - m) * scale) / sum;
    }
}

static void layernorm_scalar(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                             size_t rows, size_t cols, float eps, int rms) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float mu = 0, var = 0;
        if (!rms) { for (size_t i = 0; i < cols; i++) mu += xr[i]; mu /= (float)cols; }
        for (size_t i = 0; i < cols; i++) var += (xr[i] - mu) * (xr[i] - mu);
        float rs = 1.0f / sqrtf(var / (float)cols + eps);
        if (mean) mean[r] = mu;
        rstd[r] = rs;
        for (size_t i = 0; i < cols; i++)
            y[r * cols + i] = (xr[i] - mu) * rs * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
    }
}

void gk_layernorm_rows(const float *x, const float *w, const float *b, float *y, float *mean, float *rstd,
                       size_t rows, size_t cols, float eps) {
    if (gk_has_avx2()) layernorm_avx2(x, w, b, y, mean, rstd, rows, cols, eps, 0);
    else layernorm_scalar(x, w, b, y, mean, rstd, rows, cols, eps, 0);
}

void gk_rmsnorm_rows(const float *x, const float *w, float *y, float *rstd, size_t rows, size_t cols, float eps) {
    if (gk_has_avx2()) layernorm_avx2(x, w, NULL, y, NULL, rstd, rows, cols, eps, 1);
    else layernorm_scalar(x, w, NULL, y, NULL, rstd, rows, cols, eps, 1);
}

void gk_activation(int kind, const float *x, float *y, size_t n) {
    if (gk_has_avx2()) { activation_avx2(kind, x, y, n); return; }
    for (size_t i = 0; i < n; i++) y[i] = act_scalar(kind, x[i]);
}

void gk_logsumexp_rows(const float *x, size_t rows, size_t cols, float *lse, float *total) {
    if (gk_has_avx2()) { logsumexp_avx2(x, rows, cols, lse, total); return; }
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float m = -INFINITY, sum = 0, e = 0;
        for (size_t i = 0; i < cols; i++) { m = xr[i] > m ? xr[i] : m; sum += xr[i]; }
        if (m == -INFINITY) m = 0;
        for (size_t i = 0; i < cols; i++) e += expf(xr[i] - m);
        lse[r] = m + logf(e);
        if (total) total[r] = sum;
    }
}

void gk_scaled_exp_shift(const float *x, float shift, float scale, float offset, float *y, size_t n) {
    if (gk_has_avx2()) { softmax_shift_avx2(x, shift, scale, offset, y, n); return; }
    for (size_t i = 0; i < n; i++) y[i] = scale * expf(x[i] - shift) - offset;
}

void gk_silu_backward(const float *g, const float *x, float *dx, size_t n) {
    if (gk_has_avx2()) { silu_backward_avx2(g, x, dx, n); return; }
    for (size_t i = 0; i < n; i++) {
        float s = 1.0f / (1.0f + expf(-x[i]));
        dx[i] = g[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

// ---- layer norm backward ---------------------------------------------------------------------------

// Per row: x̂ = (x − μ)·r, d = g·w; dx = r·(d − mean(d) − x̂·mean(d·x̂)) (without the mean(d) term for RMS norm).
// x̂ and d are recomputed in the second pass rather than stored: two reads of a row that is still in cache.
// Columns [from, to) of a row, one at a time: the whole row without AVX2, the tail after the vector body with it.
static inline void layernorm_backward_sums(const float *xr, const float *gr, const float *w, float mu, float rs, float *dw,
                                           float *db, size_t from, size_t to, float *sd, float *sdx) {
    for (size_t i = from; i < to; i++) {
        const float xh = (xr[i] - mu) * rs, d = gr[i] * (w ? w[i] : 1.0f);
        dw[i] += gr[i] * xh;
        if (db) db[i] += gr[i];
        *sd += d;
        *sdx += d * xh;
    }
}

static inline void layernorm_backward_dx(const float *xr, const float *gr, const float *w, float mu, float rs, float md,
                                         float mdx, float *dxr, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        const float xh = (xr[i] - mu) * rs, d = gr[i] * (w ? w[i] : 1.0f);
        dxr[i] = rs * (d - md - xh * mdx);
    }
}

static void layernorm_backward_scalar(const float *x, const float *g, const float *w, const float *mean, const float *rstd,
                                      float *dx, float *dw, float *db, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const float mu = mean ? mean[r] : 0.0f, rs = rstd[r];
        float sd = 0, sdx = 0;
        layernorm_backward_sums(x + r * cols, g + r * cols, w, mu, rs, dw, db, 0, cols, &sd, &sdx);
        layernorm_backward_dx(x + r * cols, g + r * cols, w, mu, rs, mean ? sd / (float)cols : 0.0f, sdx / (float)cols,
                              dx + r * cols, 0, cols);
    }
}

AVX2 static void layernorm_backward_avx2(const float *x, const float *g, const float *w, const float *mean, const float *rstd,
                                        float *dx, float *dw, float *db, size_t rows, size_t cols) {
    const size_t body = cols & ~(size_t)7;
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols, *gr = g + r * cols;
        float *dxr = dx + r * cols;
        const float mu = mean ? mean[r] : 0.0f, rs = rstd[r];
        const __m256 vmu = _mm256_set1_ps(mu), vrs = _mm256_set1_ps(rs);
        __m256 vsd = _mm256_setzero_ps(), vsdx = _mm256_setzero_ps();
        for (size_t i = 0; i < body; i += 8) {
            const __m256 gv = _mm256_loadu_ps(gr + i);
            const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu), vrs);
            const __m256 d = w ? _mm256_mul_ps(gv, _mm256_loadu_ps(w + i)) : gv;
            _mm256_storeu_ps(dw + i, _mm256_fmadd_ps(gv, xh, _mm256_loadu_ps(dw + i)));
            if (db) _mm256_storeu_ps(db + i, _mm256_add_ps(_mm256_loadu_ps(db + i), gv));
            vsd = _mm256_add_ps(vsd, d);
            vsdx = _mm256_fmadd_ps(d, xh, vsdx);
        }
        float sd = hsum8(vsd), sdx = hsum8(vsdx);
        layernorm_backward_sums(xr, gr, w, mu, rs, dw, db, body, cols, &sd, &sdx);
        const float md = mean ? sd / (float)cols : 0.0f, mdx = sdx / (float)cols;
        const __m256 vmd = _mm256_set1_ps(md), vmdx = _mm256_set1_ps(mdx);
        for (size_t i = 0; i < body; i += 8) {
            const __m256 gv = _mm256_loadu_ps(gr + i);
            const __m256 xh = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmu), vrs);
            const __m256 d = w ? _mm256_mul_ps(gv, _mm256_loadu_ps(w + i)) : gv;
            _mm256_storeu_ps(dxr + i, _mm256_mul_ps(vrs, _mm256_sub_ps(_mm256_sub_ps(d, vmd), _mm256_mul_ps(xh, vmdx))));
        }
        layernorm_backward_dx(xr, gr, w, mu, rs, md, mdx, dxr, body, cols);
    }
}

void gk_layernorm_backward_rows(const float *x, const float *g, const float *w, const float *mean, const float *rstd,
                                float *dx, float *dw, float *db, size_t rows, size_t cols) {
    if (gk_has_avx2()) layernorm_backward_avx2(x, g, w, mean, rstd, dx, dw, db, rows, cols);
    else layernorm_backward_scalar(x, g, w, mean, rstd, dx, dw, db, rows, cols);
}

void gk_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
    // One heap for all threads: with an arena per thread, each keeps its own freed buffers and a training step whose
    // shards run on two threads would hold two peaks. Tensors are allocated per operation, so the lock is cheap.
    mallopt(M_ARENA_MAX, 1);
#endif
}

// ---- attention for one query per head (incremental decoding) ------------------------------------

static void attention_step_scalar(const float *q, const float *k, const float *v, const float *mask, size_t mask_stride,
                                  const size_t *lengths, float *out, float *scores, size_t rows, size_t heads, size_t t,
                                  size_t d, size_t stride) {
    for (size_t r = 0; r < rows; r++) {
        const float *qr = q + r * d, *kr = k + r * stride, *vr = v + r * stride;
        const float *mr = mask ? mask + (r / heads) * mask_stride : NULL;
        const size_t tr = lengths ? lengths[r / heads] : t;
        float m = -INFINITY;
        for (size_t j = 0; j < tr; j++) {
            float s = 0;
            for (size_t i = 0; i < d; i++) s = fmaf(qr[i], kr[j * d + i], s);
            if (mr) s += mr[j];
            scores[j] = s;
            m = s > m ? s : m;
        }
        if (m == -INFINITY) m = 0;
        float sum = 0;
        for (size_t j = 0; j < tr; j++) { scores[j] = expf(scores[j] - m); sum += scores[j]; }
        float *o = out + r * d;
        for (size_t i = 0; i < d; i++) o[i] = 0;
        for (size_t j = 0; j < tr; j++) {
            float p = scores[j] / sum;
            for (size_t i = 0; i < d; i++) o[i] += p * vr[j * d + i];
        }
    }
}

AVX2 static void attention_step_avx2(const float *q, const float *k, const float *v, const float *mask, size_t mask_stride,
                                     const size_t *lengths, float *out, float *scores, size_t rows, size_t heads, size_t t,
                                     size_t d, size_t stride) {
    for (size_t r = 0; r < rows; r++) {
        const float *qr = q + r * d, *kr = k + r * stride, *vr = v + r * stride;
        const float *mr = mask ? mask + (r / heads) * mask_stride : NULL;
        const size_t tr = lengths ? lengths[r / heads] : t;
        float m = -INFINITY;
        for (size_t j = 0; j < tr; j++) {
            const float *kj = kr + j * d;
            __m256 acc = _mm256_setzero_ps();
            size_t i = 0;
            for (; i + 8 <= d; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(qr + i), _mm256_loadu_ps(kj + i), acc);
            float s = hsum8(acc);
            for (; i < d; i++) s += qr[i] * kj[i];
            if (mr) s += mr[j];
            scores[j] = s;
            m = s > m ? s : m;
        }
        if (m == -INFINITY) m = 0;
        // The same exponential as the row softmax kernel, so both paths agree to rounding; the last partial vector
        // joins the same lanes as a full one, so masked positions after a row's own (exactly 0) change nothing.
        const __m256 vmax = _mm256_set1_ps(m);
        __m256 vsum = _mm256_setzero_ps();
        size_t j = 0;
        for (; j + 8 <= tr; j += 8) {
            __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + j), vmax));
            vsum = _mm256_add_ps(vsum, e);
            _mm256_storeu_ps(scores + j, e);
        }
        if (j < tr) {
            const __m256i keep = lanes(tr - j);
            __m256 e = _mm256_and_ps(exp8(_mm256_sub_ps(_mm256_maskload_ps(scores + j, keep), vmax)), _mm256_castsi256_ps(keep));
            vsum = _mm256_add_ps(vsum, e);
            _mm256_maskstore_ps(scores + j, keep, e);
        }
        const float sum = hsum8(vsum);
        const float inv = 1.0f / sum;
        float *o = out + r * d;
        size_t i = 0;
        for (; i + 8 <= d; i += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (j = 0; j < tr; j++) acc = _mm256_fmadd_ps(_mm256_set1_ps(scores[j]), _mm256_loadu_ps(vr + j * d + i), acc);
            _mm256_storeu_ps(o + i, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
        }
        for (; i < d; i++) {
            float acc = 0;
            for (j = 0; j < tr; j++) acc = fmaf(scores[j], vr[j * d + i], acc);
            o[i] = acc * inv;
        }
    }
}

void gk_attention_step(const float *q, const float *k, const float *v, const float *mask, size_t mask_stride, const size_t *lengths,
                       float *out, float *scratch, size_t rows, size_t heads, size_t t, size_t d, size_t stride) {
    if (gk_has_avx2()) attention_step_avx2(q, k, v, mask, mask_stride, lengths, out, scratch, rows, heads, t, d, stride);
    else attention_step_scalar(q, k, v, mask, mask_stride, lengths, out, scratch, rows, heads, t, d, stride);
}

// ---- search: the best continuations of a row without its log-softmax written out ----------------------------------

// The row's maximum and log Σ exp(x − max), exactly as gk_softmax_rows(…, scale 1, log 1) computes them, so that
// (x[i] − max) − offset is bit for bit the log-softmax it writes.
static void log_softmax_offset(const float *x, size_t cols, float *max, float *offset) {
    float m, sum;
    if (gk_has_avx2()) sum = row_exp_sum_avx2(x, NULL, cols, 1.0f, &m);
    else sum = row_exp_sum_scalar(x, cols, 1.0f, &m);
    *max = m;
    *offset = logf(sum);
}

void gk_log_softmax_offset(const float *x, size_t cols, float *max, float *offset) { log_softmax_offset(x, cols, max, offset); }

// Inserts (row, token, score) into the best-first list as beam search's sorted insertion does: after every entry that
// scores at least as much, the last dropped past k.
static inline void insert_candidate(size_t k, size_t *count, int32_t *rows, int32_t *tokens, float *scores, int32_t row, int32_t token,
                                    float score) {
    size_t at = 0;
    while (at < *count && !(scores[at] < score)) at++;
    size_t end = *count < k ? *count : k - 1;
    for (size_t i = end; i > at; i--) { rows[i] = rows[i - 1]; tokens[i] = tokens[i - 1]; scores[i] = scores[i - 1]; }
    if (at < k) { rows[at] = row; tokens[at] = token; scores[at] = score; }
    if (*count < k) (*count)++;
}

AVX2 static size_t first_above_avx2(const float *x, size_t from, size_t cols, float m, float off, float base, float bar, int by_score) {
    // The first i ≥ from whose key ((x − m) − off, plus base when ranking by score) is above `bar`, or cols: the same
    // arithmetic per lane as the scalar path, so no candidate is skipped that it would take.
    const __m256 vm = _mm256_set1_ps(m), voff = _mm256_set1_ps(off), vbase = _mm256_set1_ps(base), vbar = _mm256_set1_ps(bar);
    size_t i = from;
    for (; i + 8 <= cols; i += 8) {
        __m256 key = _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), voff);
        if (by_score) key = _mm256_add_ps(vbase, key);
        int hits = _mm256_movemask_ps(_mm256_cmp_ps(key, vbar, _CMP_GT_OQ));
        if (hits) return i + (size_t)__builtin_ctz((unsigned)hits);
    }
    for (; i < cols; i++) {
        float key = (x[i] - m) - off;
        if (by_score) key = base + key;
        if (key > bar) return i;
    }
    return cols;
}

void gk_best_continuations(const float *x, size_t cols, const int64_t *banned, size_t nbanned, float base, int32_t row, int by_score,
                           size_t k, size_t *count, int32_t *rows, int32_t *tokens, float *scores) {
    float m, off;
    log_softmax_offset(x, cols, &m, &off);
    size_t b = 0;
    if (!by_score) {
        // Greedy: the first arg-max of the log-probabilities (banned ones −∞), its score base + lp.
        size_t best = 0;
        float key = (x[0] - m) - off;
        while (b < nbanned && banned[b] < 0) b++;
        if (b < nbanned && banned[b] == 0) key = -INFINITY;
        size_t i = 1;
        for (;;) {
            // A NaN key never gives way (as Swift's max(by:) keeps it); −∞ gives way to any finite key.
            i = gk_has_avx2() && key == key ? first_above_avx2(x, i, cols, m, off, base, key, 0) : i;
            if (i >= cols) break;
            float lp = (x[i] - m) - off;
            while (b < nbanned && banned[b] < (int64_t)i) b++;
            if (b < nbanned && banned[b] == (int64_t)i) lp = -INFINITY;
            if (key < lp) { key = lp; best = i; }
            i++;
        }
        rows[0] = row; tokens[0] = (int32_t)best; scores[0] = base + key;
        *count = 1;
        return;
    }
    size_t i = 0;
    while (i < cols) {
        if (*count == k && gk_has_avx2() && scores[k - 1] == scores[k - 1]) {
            i = first_above_avx2(x, i, cols, m, off, base, scores[k - 1], 1);
            if (i >= cols) break;
        }
        while (b < nbanned && banned[b] < (int64_t)i) b++;
        float lp = b < nbanned && banned[b] == (int64_t)i ? -INFINITY : (x[i] - m) - off;
        float score = base + lp;
        if (!(*count == k && score <= scores[k - 1])) insert_candidate(k, count, rows, tokens, scores, row, (int32_t)i, score);
        i++;
    }
}

// ---- per-thread scratch ----------------------------------------------------------------------------------------------

#include <pthread.h>
#include <stdlib.h>

#define GK_SCRATCH_SLOTS 4
typedef struct { void *data[GK_SCRATCH_SLOTS]; size_t bytes[GK_SCRATCH_SLOTS]; } gk_scratch_t;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
    gk_scratch_t *s = p;
    for (int i = 0; i < GK_SCRATCH_SLOTS; i++) free(s->data[i]);
    free(s);
}

static void scratch_init(void) { (void)pthread_key_create(&scratch_key, scratch_free); }

void *gk_thread_scratch(int slot, size_t bytes) {
    if (slot < 0 || slot >= GK_SCRATCH_SLOTS) return NULL;
    (void)pthread_once(&scratch_once, scratch_init);
    gk_scratch_t *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(scratch_key, s) != 0) { free(s); return NULL; }
    }
    if (s->bytes[slot] < bytes) {
        size_t grown = bytes < 4096 ? 4096 : bytes + bytes / 2;
        void *p = NULL;
        if (posix_memalign(&p, 64, grown) != 0) return NULL;
        free(s->data[slot]);
        s->data[slot] = p;
        s->bytes[slot] = grown;
    }
    return s->data[slot];
}

// ---- tensor storage counters (TensorStorage) -------------------------------------------------------------------------

#include <stdatomic.h>

static _Atomic unsigned long long storage_allocations, storage_reuses;
static __thread unsigned long long thread_storage_allocations, thread_storage_reuses;

void gk_count_storage(int reused) {
    if (reused) { thread_storage_reuses++; atomic_fetch_add_explicit(&storage_reuses, 1, memory_order_relaxed); }
    else { thread_storage_allocations++; atomic_fetch_add_explicit(&storage_allocations, 1, memory_order_relaxed); }
}

unsigned long long gk_storage_count(int reused, int this_thread) {
    if (this_thread) return reused ? thread_storage_reuses : thread_storage_allocations;
    return atomic_load_explicit(reused ? &storage_reuses : &storage_allocations, memory_order_relaxed);
}
