/* AVX2 building blocks of the float32 2x2 max-pool and its gradient (pool.py). */
#if defined(__AVX2__) && !defined(AENET_POOL_AVX2)
#define AENET_POOL_AVX2
#include <immintrin.h>
/* the even / odd elements of the 16 floats lo:hi, in order */
static inline __m256 aenet_even(__m256 lo, __m256 hi) {
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
static inline __m256 aenet_odd(__m256 lo, __m256 hi) {
    __m256 t = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(t), _MM_SHUFFLE(3, 1, 2, 0)));
}
/* each of the 8 floats of v twice: first the 8 for v0..v3, then for v4..v7 */
static inline void aenet_dup(__m256 v, __m256* first, __m256* second) {
    __m256 lo = _mm256_unpacklo_ps(v, v), hi = _mm256_unpackhi_ps(v, v);
    *first = _mm256_permute2f128_ps(lo, hi, 0x20);
    *second = _mm256_permute2f128_ps(lo, hi, 0x31);
}
/* lane masks for the last rem (< 8) outputs of a row: their 2 * rem inputs
   (first and second 8 floats) and the rem outputs */
static inline void aenet_masks(int rem, __m256i* in0, __m256i* in1, __m256i* out) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    *in0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * rem), idx);
    *in1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * rem - 8), idx);
    *out = _mm256_cmpgt_epi32(_mm256_set1_epi32(rem), idx);
}
/* aesara's maximum(x, 0): (0 > x) ? 0 : ((x >= 0) ? x : NaN) */
static inline __m256 aenet_relu(__m256 x) {
    const __m256 zero = _mm256_setzero_ps();
    __m256 v = _mm256_blendv_ps(_mm256_set1_ps(NAN), x, _mm256_cmp_ps(x, zero, _CMP_GE_OQ));
    return _mm256_blendv_ps(v, zero, _mm256_cmp_ps(zero, x, _CMP_GT_OQ));
}
#endif
