/* BLAS on one thread while an Op's OpenMP threads share the work:
   aenet_blas_one_thread() returns the thread count it replaced, which
   aenet_blas_restore() sets back.  AENET_OPENBLAS is defined before this text. */
#ifndef AENET_BLAS_ONE_THREAD
#define AENET_BLAS_ONE_THREAD
static int aenet_blas_one_thread(void) {
#if AENET_OPENBLAS
    int saved = openblas_get_num_threads();
    if (saved > 1) openblas_set_num_threads(1);
    return saved;
#else
    return 1;
#endif
}
static void aenet_blas_restore(int saved) {
#if AENET_OPENBLAS
    if (saved > 1) openblas_set_num_threads(saved);
#endif
}
#endif
