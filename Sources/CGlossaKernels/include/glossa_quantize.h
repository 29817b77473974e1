#ifndef GLOSSA_QUANTIZE_H
#define GLOSSA_QUANTIZE_H
// Row kernels of the int8 matrix product (GlossaTensor's QuantizedMatrix): activations to u8 with a scale
// and zero point per row, and the int32 product back to float. AVX2 paths chosen at run time, portable
// fallbacks computing the same values (round half to even in both).
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Quantizes `rows` rows of `k` floats to u8 in [0, qmax]: q = clamp(round(x / s) + z, 0, qmax).
/// symmetric != 0: z = (qmax + 1) / 2 and s = max|x| / (qmax - z); otherwise s = (max - min) / qmax over the
/// row with 0 included, z = round(-min / s). An all-zero row gets s = 1. Writes s and z per row.
void gk_quantize_rows_u8(const float *x, size_t rows, size_t k, int qmax, int symmetric,
                         uint8_t *q, float *scale, int32_t *zero);

/// out[r, j] = ascale[r] * wscale[j] * (c[r, j] - azero[r] * wsum[j]) + (bias ? bias[j] : 0), for `rows` rows of
/// `n` columns; c has leading dimension ldc, out has ldo.
void gk_dequantize_rows(const int32_t *c, size_t ldc, size_t rows, size_t n, const float *ascale,
                        const int32_t *azero, const float *wscale, const int32_t *wsum, const float *bias,
                        float *out, size_t ldo);

#ifdef __cplusplus
}
#endif
#endif
