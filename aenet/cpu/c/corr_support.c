/* The pieces of aenet's batched im2col correlations (C++, as aesara compiles
   it): unfolding images into columns and back, block transposes, the chunk
   size and the output array.  The layout: col[k][n * P + p], k over channel x
   kernel row x kernel column, p over an image's OH x OW output pixels. */
#ifndef AENET_CORR_SUPPORT
#define AENET_CORR_SUPPORT
#include <string.h>
#include <stdlib.h>

/* padding codes besides a number of pixels: kernel size / 2, kernel size - 1 */
#define AENET_PAD_HALF -1
#define AENET_PAD_FULL -2

static int aenet_pad(int pad, int k) {
    return pad == AENET_PAD_HALF ? k / 2 : pad == AENET_PAD_FULL ? k - 1 : pad;
}

/* the sizes of one correlation: N images of C x H x W, M kernels of C x kh x kw,
   padding PH, PW, strides sh, sw and outputs of OH x OW */
struct aenet_corr_dims {
    int N, C, H, W, M, kh, kw, PH, PW, sh, sw, OH, OW;
    /* PH, PW, sh and sw from padding codes and strides, once kh and kw are set */
    void set_steps(int pad_h, int pad_w, int stride_h, int stride_w) {
        PH = aenet_pad(pad_h, kh); PW = aenet_pad(pad_w, kw); sh = stride_h; sw = stride_w;
    }
    /* the output height and width the image, kernel, padding and strides give */
    int out_h() const { return (H + 2 * PH - kh) / sh + 1; }
    int out_w() const { return (W + 2 * PW - kw) / sw + 1; }
};

static inline void aenet_gemm(char* ta, char* tb, const int* m, const int* n, const int* k,
                              const float* alpha, const float* a, const int* lda, const float* b,
                              const int* ldb, const float* beta, float* c, const int* ldc) {
    sgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
static inline void aenet_gemm(char* ta, char* tb, const int* m, const int* n, const int* k,
                              const double* alpha, const double* a, const int* lda, const double* b,
                              const int* ldb, const double* beta, double* c, const int* ldc) {
    dgemm_(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

/* col[k][(n - n0) * P + p] = padded x[n][c][oh * sh + i - PH][ow * sw + j - PW]
   for images n0 <= n < n1 (leading dimension ld) */
template <typename T>
static void aenet_im2col(const aenet_corr_dims& d, const T* x, int n0, int n1, T* col, long ld) {
    const long P = (long)d.OH * d.OW;
    for (int c = 0; c < d.C; c++)
    for (int i = 0; i < d.kh; i++)
    for (int j = 0; j < d.kw; j++) {
        T* row = col + ((long)(c * d.kh + i) * d.kw + j) * ld;
        for (int n = n0; n < n1; n++) {
            const T* plane = x + ((long)n * d.C + c) * d.H * d.W;
            T* dst = row + (long)(n - n0) * P;
            for (int oh = 0; oh < d.OH; oh++) {
                const int h = oh * d.sh + i - d.PH;
                T* out = dst + (long)oh * d.OW;
                if (h < 0 || h >= d.H) { memset(out, 0, sizeof(T) * d.OW); continue; }
                const T* src = plane + (long)h * d.W;
                if (d.sw == 1 && d.PW == 0) { memcpy(out, src + j, sizeof(T) * d.OW); continue; }
                for (int ow = 0; ow < d.OW; ow++) {
                    const int w = ow * d.sw + j - d.PW;
                    out[ow] = (w >= 0 && w < d.W) ? src[w] : (T)0;
                }
            }
        }
    }
}

/* the reverse: x[n][c][...] += col[k][(n - n0) * P + p]; x must be zeroed first */
template <typename T>
static void aenet_col2im(const aenet_corr_dims& d, const T* col, int n0, int n1, T* x, long ld) {
    const long P = (long)d.OH * d.OW;
    for (int n = n0; n < n1; n++)
    for (int c = 0; c < d.C; c++) {
        T* plane = x + ((long)n * d.C + c) * d.H * d.W;
        for (int i = 0; i < d.kh; i++)
        for (int j = 0; j < d.kw; j++) {
            const T* src = col + ((long)(c * d.kh + i) * d.kw + j) * ld + (long)(n - n0) * P;
            for (int oh = 0; oh < d.OH; oh++) {
                const int h = oh * d.sh + i - d.PH;
                if (h < 0 || h >= d.H) continue;
                T* out = plane + (long)h * d.W;
                const T* s = src + (long)oh * d.OW;
                if (d.sw == 1 && d.PW == 0) {
                    T* oj = out + j;
                    for (int ow = 0; ow < d.OW; ow++) oj[ow] += s[ow];
                    continue;
                }
                for (int ow = 0; ow < d.OW; ow++) {
                    const int w = ow * d.sw + j - d.PW;
                    if (w >= 0 && w < d.W) out[w] += s[ow];
                }
            }
        }
    }
}

/* dst[b][a][p] = src[a][b][p] (+ bias[a]) for an (A, B, P) block */
template <typename T>
static void aenet_swap01(const T* src, T* dst, long A, long B, long P, const T* bias) {
    for (long a = 0; a < A; a++)
        for (long b = 0; b < B; b++) {
            const T* s = src + (a * B + b) * P;
            T* out = dst + (b * A + a) * P;
            if (!bias) { memcpy(out, s, sizeof(T) * P); continue; }
            const T v = bias[a];
            for (long p = 0; p < P; p++) out[p] = s[p] + v;
        }
}

/* x[a][p] += bias[a] for an (A, P) block */
template <typename T>
static void aenet_add_rows(T* x, const T* bias, long A, long P) {
    for (long a = 0; a < A; a++) {
        const T v = bias[a];
        T* r = x + a * P;
        for (long p = 0; p < P; p++) r[p] += v;
    }
}

/* how a correlation's N images are split: chunks of nb images, as many as keep
   col and the output block within chunk_floats (at least one), over nt threads */
struct aenet_chunking {
    int nb, chunks, nt;
    aenet_chunking(int N, int K, int M, int P, int threads, long chunk_floats) {
        const long per_image = (long)(K + M) * P;
        long n = per_image > 0 ? chunk_floats / per_image : N;
        if (n < 1) n = 1;
        if (n > N) n = N;
        nb = (int)n;
        chunks = (N + nb - 1) / nb;
        nt = threads < chunks ? threads : chunks;
    }
};

/* one thread's buffers: col for nb images and, when nb > 1, an M x nb P block */
template <typename T>
struct aenet_corr_buffers {
    T* col;
    T* block;
    int ok;
    aenet_corr_buffers(int K, int M, int P, int nb)
        : col((T*)malloc(sizeof(T) * (size_t)K * P * nb)),
          block(nb > 1 ? (T*)malloc(sizeof(T) * (size_t)M * P * nb) : NULL),
          ok(col && (nb == 1 || block)) {}
    ~aenet_corr_buffers() { free(col); free(block); }
};

/* *failed = 1 from any OpenMP thread */
static inline void aenet_set_failed(int* failed) {
    #pragma omp atomic write
    *failed = 1;
}

/* *out as a C-contiguous (d0, d1, d2, d3) array of typenum, reused when it
   already has that shape; -1 (with a Python error) when it cannot be allocated */
static int aenet_ensure_4d(PyArrayObject** out, npy_intp d0, npy_intp d1, npy_intp d2, npy_intp d3,
                           int typenum) {
    npy_intp dims[4] = {d0, d1, d2, d3};
    PyArrayObject* o = *out;
    if (o && PyArray_IS_C_CONTIGUOUS(o) && PyArray_NDIM(o) == 4 && PyArray_DIMS(o)[0] == d0
        && PyArray_DIMS(o)[1] == d1 && PyArray_DIMS(o)[2] == d2 && PyArray_DIMS(o)[3] == d3)
        return 0;
    Py_XDECREF(o);
    *out = (PyArrayObject*)PyArray_EMPTY(4, dims, typenum, 0);
    return *out ? 0 : -1;
}

/* a C-contiguous reference to an array (a copy when it is not), released with the object */
struct aenet_contiguous {
    PyArrayObject* a;
    explicit aenet_contiguous(PyArrayObject* x) : a(PyArray_GETCONTIGUOUS(x)) {}
    ~aenet_contiguous() { Py_XDECREF(a); }
    npy_intp dim(int i) const { return PyArray_DIMS(a)[i]; }
};

/* compute(threads) with BLAS on one thread and `threads` OpenMP threads;
   compute returns 1 when out of memory, which becomes -1 and a MemoryError */
template <typename F>
static int aenet_with_one_blas_thread(F compute) {
    const int blas_threads = aenet_blas_one_thread();
    const int failed = compute(blas_threads);
    aenet_blas_restore(blas_threads);
    if (failed) { PyErr_NoMemory(); return -1; }
    return 0;
}

/* 0 when a and b are 4-D, else -1 with a ValueError naming op */
static int aenet_check_4d(PyArrayObject* a, PyArrayObject* b, const char* op) {
    if (PyArray_NDIM(a) == 4 && PyArray_NDIM(b) == 4) return 0;
    PyErr_Format(PyExc_ValueError, "%s: 4-D inputs required", op);
    return -1;
}
#endif
