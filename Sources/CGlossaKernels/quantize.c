#include "glossa_quantize.h"
#include "glossa_kernels.h"
#include <math.h>
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

static void row_params(float lo, float hi, int qmax, int symmetric, float *scale, int32_t *zero) {
    if (symmetric) {
        int z = (qmax + 1) / 2;
        float amax = fmaxf(-lo, hi);
        *zero = z;
        *scale = amax > 0 ? amax / (float)(qmax - z) : 1.0f;
    } else {
        lo = fminf(lo, 0), hi = fmaxf(hi, 0);
        float s = (hi - lo) / (float)qmax;
        if (!(s > 0)) { *scale = 1.0f; *zero = 0; return; }
        *scale = s;
        float z = nearbyintf(-lo / s);
        *zero = (int32_t)fminf(fmaxf(z, 0), (float)qmax);
    }
}

static void quantize_row_scalar(const float *x, size_t k, float inv, int32_t z, int qmax, uint8_t *q) {
    for (size_t i = 0; i < k; i++) {
        float v = nearbyintf(x[i] * inv) + (float)z;
        v = fminf(fmaxf(v, 0), (float)qmax);
        q[i] = (uint8_t)v;
    }
}

AVX2 static void minmax_avx2(const float *x, size_t k, float *lo, float *hi) {
    __m256 mn = _mm256_set1_ps(INFINITY), mx = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        mn = _mm256_min_ps(mn, v), mx = _mm256_max_ps(mx, v);
    }
    float a[8], b[8];
    _mm256_storeu_ps(a, mn), _mm256_storeu_ps(b, mx);
    float l = a[0], h = b[0];
    for (int j = 1; j < 8; j++) l = fminf(l, a[j]), h = fmaxf(h, b[j]);
    for (; i < k; i++) l = fminf(l, x[i]), h = fmaxf(h, x[i]);
    *lo = l, *hi = h;
}

AVX2 static void quantize_row_avx2(const float *x, size_t k, float inv, int32_t z, int qmax, uint8_t *q) {
    const __m256 vinv = _mm256_set1_ps(inv), vz = _mm256_set1_ps((float)z);
    const __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_set1_ps((float)qmax);
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        __m256 v = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, vz), vlo), vhi);
        __m256i n = _mm256_cvtps_epi32(v);
        __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(n), _mm256_extracti128_si256(n, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packus_epi16(w, w));
    }
    quantize_row_scalar(x + i, k - i, inv, z, qmax, q + i);
}

void gk_quantize_rows_u8(const float *x, size_t rows, size_t k, int qmax, int symmetric,
                         uint8_t *q, float *scale, int32_t *zero) {
    int avx2 = gk_has_avx2();
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * k;
        float lo = INFINITY, hi = -INFINITY;
        if (avx2) minmax_avx2(row, k, &lo, &hi);
        else for (size_t i = 0; i < k; i++) lo = fminf(lo, row[i]), hi = fmaxf(hi, row[i]);
        if (k == 0) lo = hi = 0;
        row_params(lo, hi, qmax, symmetric, &scale[r], &zero[r]);
        // x / s as x * (1 / s): the reference loop does the same, so both round the same products.
        float inv = 1.0f / scale[r];
        if (avx2) quantize_row_avx2(row, k, inv, zero[r], qmax, q + r * k);
        else quantize_row_scalar(row, k, inv, zero[r], qmax, q + r * k);
    }
}

static void dequantize_row_scalar(const int32_t *c, size_t n, float as, int32_t az, const float *ws,
                                  const int32_t *wsum, const float *bias, float *out) {
    for (size_t j = 0; j < n; j++) {
        float v = as * ws[j] * (float)(c[j] - az * wsum[j]);
        out[j] = bias ? v + bias[j] : v;
    }
}

AVX2 static void dequantize_row_avx2(const int32_t *c, size_t n, float as, int32_t az, const float *ws,
                                     const int32_t *wsum, const float *bias, float *out) {
    const __m256 vas = _mm256_set1_ps(as);
    const __m256i vaz = _mm256_set1_epi32(az);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i acc = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(c + j)),
                                       _mm256_mullo_epi32(vaz, _mm256_loadu_si256((const __m256i *)(wsum + j))));
        __m256 v = _mm256_mul_ps(_mm256_mul_ps(vas, _mm256_loadu_ps(ws + j)), _mm256_cvtepi32_ps(acc));
        if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias + j));
        _mm256_storeu_ps(out + j, v);
    }
    dequantize_row_scalar(c + j, n - j, as, az, ws + j, wsum + j, bias ? bias + j : NULL, out + j);
}

void gk_dequantize_rows(const int32_t *c, size_t ldc, size_t rows, size_t n, const float *ascale,
                        const int32_t *azero, const float *wscale, const int32_t *wsum, const float *bias,
                        float *out, size_t ldo) {
    int avx2 = gk_has_avx2();
    for (size_t r = 0; r < rows; r++) {
        if (avx2) dequantize_row_avx2(c + r * ldc, n, ascale[r], azero[r], wscale, wsum, bias, out + r * ldo);
        else dequantize_row_scalar(c + r * ldc, n, ascale[r], azero[r], wscale, wsum, bias, out + r * ldo);
    }
}
