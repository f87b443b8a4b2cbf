/* MaxPool2D's AVX2 loop over a row: 8 outputs at a time, then the rest masked.
   A template: pool.py substitutes its named fields, and a doubled percent sign stands for one. */
#if defined(AENET_POOL_AVX2)
                    for (; j + 8 <= OW; j += 8) {
                        const float* r0 = xrow + 2 * j;
                        const float* r1 = r0 + W;
                        const __m256 p0 = _mm256_loadu_ps(r0), p1 = _mm256_loadu_ps(r0 + 8);
                        const __m256 q0 = _mm256_loadu_ps(r1), q1 = _mm256_loadu_ps(r1 + 8);
                        %(body)s
                        _mm256_storeu_ps(zrow + j, m);
                    }
                    if (j < OW) {
                        const int rem = (int)(OW - j);
                        __m256i mk0, mk1, mko;
                        aenet_masks(rem, &mk0, &mk1, &mko);
                        const float* r0 = xrow + 2 * j;
                        const float* r1 = r0 + W;
                        const __m256 p0 = _mm256_maskload_ps(r0, mk0), p1 = _mm256_maskload_ps(r0 + 8, mk1);
                        const __m256 q0 = _mm256_maskload_ps(r1, mk0), q1 = _mm256_maskload_ps(r1 + 8, mk1);
                        %(body)s
                        _mm256_maskstore_ps(zrow + j, mko, m);
                        j = OW;
                    }
#endif
