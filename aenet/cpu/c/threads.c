/* aenet_threads(): the job's thread count, which aenet keeps as OpenBLAS's
   (1 without OpenBLAS).  AENET_OPENBLAS is defined before this text. */
#ifndef AENET_THREADS
#define AENET_THREADS
#if AENET_OPENBLAS
extern "C" int openblas_get_num_threads(void);
static int aenet_threads(void) { int n = openblas_get_num_threads(); return n < 1 ? 1 : n; }
#else
static int aenet_threads(void) { return 1; }
#endif
#endif
