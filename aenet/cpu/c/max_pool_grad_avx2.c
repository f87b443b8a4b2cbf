/* MaxPool2DGrad's AVX2 loop over a row: 8 outputs at a time, then the rest masked.
   A template: pool.py substitutes its named fields, and a doubled percent sign stands for one. */
#if defined(AENET_POOL_AVX2)
                    for (; j + 8 <= OW; j += 8) {
                        __m256 m0, m1, g0, g1;
                        aenet_dup(_mm256_loadu_ps(zplane + i * OW + j), &m0, &m1);
                        aenet_dup(_mm256_loadu_ps(gzplane + i * OW + j), &g0, &g1);
                        for (int k = 0; k < 2; k++) {
                            const float* r = xrow + k * W + 2 * j;
                            float* gr = gxrow + k * W + 2 * j;
                            const __m256 a0 = _mm256_loadu_ps(r), a1 = _mm256_loadu_ps(r + 8);
                            _mm256_storeu_ps(gr, _mm256_and_ps(%(c0)s, g0));
                            _mm256_storeu_ps(gr + 8, _mm256_and_ps(%(c1)s, g1));
                        }
                    }
                    if (j < OW) {
                        const int rem = (int)(OW - j);
                        __m256i mk0, mk1, mko;
                        aenet_masks(rem, &mk0, &mk1, &mko);
                        __m256 m0, m1, g0, g1;
                        aenet_dup(_mm256_maskload_ps(zplane + i * OW + j, mko), &m0, &m1);
                        aenet_dup(_mm256_maskload_ps(gzplane + i * OW + j, mko), &g0, &g1);
                        for (int k = 0; k < 2; k++) {
                            const float* r = xrow + k * W + 2 * j;
                            float* gr = gxrow + k * W + 2 * j;
                            const __m256 a0 = _mm256_maskload_ps(r, mk0), a1 = _mm256_maskload_ps(r + 8, mk1);
                            _mm256_maskstore_ps(gr, mk0, _mm256_and_ps(%(c0)s, g0));
                            _mm256_maskstore_ps(gr + 8, mk1, _mm256_and_ps(%(c1)s, g1));
                        }
                        j = OW;
                    }
#endif
