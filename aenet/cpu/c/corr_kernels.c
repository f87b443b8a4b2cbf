/* aenet's batched im2col correlations (C++, as aesara compiles it), after
   corr_support.c.  Each Op's C code calls one of the aenet_batched_corr*
   functions, which return 0, or -1 with a Python error set.  A chunk of nb
   images is one gemm; BLAS runs on one thread and the chunks are spread over
   OpenMP threads, as many as BLAS had. */
#ifndef AENET_CORR_KERNELS
#define AENET_CORR_KERNELS

/* body(buf, n0, n1, NP) for each chunk of images n0 <= n < n1 (NP = (n1 - n0) * P),
   the chunks spread over OpenMP threads as they come; 1 when out of memory */
template <typename T, typename F>
static int aenet_for_chunks(const aenet_corr_dims& d, const aenet_chunking& ch, int K, F body) {
    const int P = d.OH * d.OW;
    int failed = 0;
    #pragma omp parallel num_threads(ch.nt) if (ch.nt > 1)
    {
    aenet_corr_buffers<T> buf(K, d.M, P, ch.nb);
    #pragma omp for schedule(dynamic)
    for (int c = 0; c < ch.chunks; c++) {
        if (!buf.ok) continue;
        const int n0 = c * ch.nb, n1 = n0 + ch.nb < d.N ? n0 + ch.nb : d.N;
        body(buf, n0, n1, (n1 - n0) * P);
    }
    if (!buf.ok) aenet_set_failed(&failed);
    }
    return failed;
}

/* out[n][m][p] = sum_k kern[m][k] col[k][n * P + p] (+ bias[m]); 1 when out of memory */
template <typename T>
static int aenet_corr_forward(const aenet_corr_dims& d, const T* xp, const T* kp, const T* bp, T* op,
                              int threads, long chunk_floats) {
    const int N = d.N, M = d.M, K = d.C * d.kh * d.kw, P = d.OH * d.OW;
    if (K == 0) {
        memset(op, 0, sizeof(T) * (size_t)N * M * P);
        for (int n = 0; bp && n < N; n++) aenet_add_rows(op + (long)n * M * P, bp, M, P);
        return 0;
    }
    const aenet_chunking ch(N, K, M, P, threads, chunk_floats);
    return aenet_for_chunks<T>(d, ch, K, [&](aenet_corr_buffers<T>& buf, int n0, int n1, int NP) {
        const T one = 1, zero = 0;
        char NN = 'N';
        aenet_im2col(d, xp, n0, n1, buf.col, NP);
        T* o = op + (long)n0 * M * P;
        if (ch.nb == 1) {  /* straight into the output image */
            aenet_gemm(&NN, &NN, &NP, &M, &K, &one, buf.col, &NP, kp, &K, &zero, o, &NP);
            if (bp) aenet_add_rows(o, bp, M, P);
        } else {
            aenet_gemm(&NN, &NN, &NP, &M, &K, &one, buf.col, &NP, kp, &K, &zero, buf.block, &NP);
            aenet_swap01(buf.block, o, M, n1 - n0, P, bp);
        }
    });
}

/* dW[m][k] = sum_{n,p} top[n][m][p] col[k][n * P + p]; 1 when out of memory.
   Thread t sums its share of the chunks into part[t] (static schedule: the
   same split every call), then the parts are added in order. */
template <typename T>
static int aenet_corr_grad_weights(const aenet_corr_dims& d, const T* xp, const T* tp, T* op,
                                   int threads, long chunk_floats) {
    const int N = d.N, M = d.M, K = d.C * d.kh * d.kw, P = d.OH * d.OW;
    const T one = 1, zero = 0;
    char NN = 'N', TT = 'T';
    const aenet_chunking ch(N, K, M, P, threads, chunk_floats);
    const int nb = ch.nb, nt = ch.nt;
    T* part = nt > 1 ? (T*)malloc(sizeof(T) * (size_t)M * K * nt) : op;
    int failed = !part;
    #pragma omp parallel num_threads(nt) if (nt > 1)
    {
    aenet_corr_buffers<T> buf(K, M, P, nb);
    const int ok = part && buf.ok;
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    T* mine = part + (long)tid * M * K;
    int first = 1;
    #pragma omp for schedule(static)
    for (int c = 0; c < ch.chunks; c++) {
        if (!ok) continue;
        const int n0 = c * nb, n1 = n0 + nb < N ? n0 + nb : N, NP = (n1 - n0) * P;
        const T* top = tp + (long)n0 * M * P;
        aenet_im2col(d, xp, n0, n1, buf.col, NP);
        if (nb > 1) { aenet_swap01(top, buf.block, n1 - n0, M, P, (const T*)NULL); top = buf.block; }
        aenet_gemm(&TT, &NN, &K, &M, &NP, &one, buf.col, &NP, top, &NP, first ? &zero : &one, mine, &K);
        first = 0;
    }
    if (ok && first) memset(mine, 0, sizeof(T) * (size_t)M * K);  /* no chunk for this thread */
    if (!ok) aenet_set_failed(&failed);
    }
    if (!failed && nt > 1) {
        memcpy(op, part, sizeof(T) * (size_t)M * K);
        for (int t = 1; t < nt; t++)
            for (long i = 0; i < (long)M * K; i++) op[i] += part[(long)t * M * K + i];
    }
    if (nt > 1) free(part);
    return failed;
}

/* x += col2im(kern^T . top) (x zeroed by the caller); 1 when out of memory */
template <typename T>
static int aenet_corr_grad_inputs(const aenet_corr_dims& d, const T* kp, const T* tp, T* op,
                                  int threads, long chunk_floats) {
    const int M = d.M, K = d.C * d.kh * d.kw, P = d.OH * d.OW;
    const aenet_chunking ch(d.N, K, M, P, threads, chunk_floats);
    return aenet_for_chunks<T>(d, ch, K, [&](aenet_corr_buffers<T>& buf, int n0, int n1, int NP) {
        const T one = 1, zero = 0;
        char NN = 'N', TT = 'T';
        const T* top = tp + (long)n0 * M * P;
        if (ch.nb > 1) { aenet_swap01(top, buf.block, n1 - n0, M, P, (const T*)NULL); top = buf.block; }
        aenet_gemm(&NN, &TT, &NP, &K, &M, &one, top, &NP, kp, &K, &zero, buf.col, &NP);
        aenet_col2im(d, buf.col, n0, n1, op, NP);
    });
}

/* BatchedCorr: out = correlation of img with kern (+ bias, which may be NULL) */
template <typename T>
static int aenet_batched_corr(PyArrayObject* img, PyArrayObject* kern, PyArrayObject* bias,
                              PyArrayObject** out, int pad_h, int pad_w, int sh, int sw, long chunk_floats) {
    if (aenet_check_4d(img, kern, "BatchedCorr")) return -1;
    if (bias && (PyArray_NDIM(bias) != 1 || PyArray_DIMS(bias)[0] != PyArray_DIMS(kern)[0])) {
        PyErr_SetString(PyExc_ValueError, "BatchedCorr: the bias length differs from the number of kernels");
        return -1;
    }
    aenet_contiguous x(img), k(kern);
    if (!x.a || !k.a) return -1;
    aenet_corr_dims d;
    d.N = x.dim(0); d.C = x.dim(1); d.H = x.dim(2); d.W = x.dim(3);
    d.M = k.dim(0); d.kh = k.dim(2); d.kw = k.dim(3);
    d.set_steps(pad_h, pad_w, sh, sw);
    d.OH = d.out_h(); d.OW = d.out_w();
    if (k.dim(1) != d.C || d.OH < 1 || d.OW < 1) {
        PyErr_Format(PyExc_ValueError, "BatchedCorr: image (%d, %d, %d, %d) and kernel (%d, %d, %d, %d) do not fit",
                     d.N, d.C, d.H, d.W, d.M, (int)k.dim(1), d.kh, d.kw);
        return -1;
    }
    if (aenet_ensure_4d(out, d.N, d.M, d.OH, d.OW, PyArray_TYPE(x.a))) return -1;
    T* bp = NULL;
    if (bias) {
        bp = (T*)malloc(sizeof(T) * (d.M > 0 ? d.M : 1));
        if (!bp) { PyErr_NoMemory(); return -1; }
        for (int m = 0; m < d.M; m++) bp[m] = *(const T*)PyArray_GETPTR1(bias, m);
    }
    const int status = aenet_with_one_blas_thread([&](int threads) {
        if (d.N == 0 || d.M == 0) return 0;
        return aenet_corr_forward(d, (const T*)PyArray_DATA(x.a), (const T*)PyArray_DATA(k.a), bp,
                                  (T*)PyArray_DATA(*out), threads, chunk_floats);
    });
    free(bp);
    return status;
}

/* BatchedCorrGradWeights: out = the gradient of a kh x kw kernel */
template <typename T>
static int aenet_batched_corr_grad_weights(PyArrayObject* img, PyArrayObject* topgrad, int kh, int kw,
                                           PyArrayObject** out, int pad_h, int pad_w, int sh, int sw,
                                           long chunk_floats) {
    if (aenet_check_4d(img, topgrad, "BatchedCorrGradWeights")) return -1;
    aenet_contiguous x(img), t(topgrad);
    if (!x.a || !t.a) return -1;
    aenet_corr_dims d;
    d.N = x.dim(0); d.C = x.dim(1); d.H = x.dim(2); d.W = x.dim(3);
    d.M = t.dim(1); d.OH = t.dim(2); d.OW = t.dim(3);
    d.kh = kh; d.kw = kw;
    d.set_steps(pad_h, pad_w, sh, sw);
    if (t.dim(0) != d.N || kh < 1 || kw < 1 || d.OH != d.out_h() || d.OW != d.out_w()) {
        PyErr_Format(PyExc_ValueError, "BatchedCorrGradWeights: image (%d, %d, %d, %d), output gradient (%d, %d, %d, %d) and kernel %dx%d do not fit",
                     d.N, d.C, d.H, d.W, (int)t.dim(0), d.M, d.OH, d.OW, kh, kw);
        return -1;
    }
    if (aenet_ensure_4d(out, d.M, d.C, kh, kw, PyArray_TYPE(x.a))) return -1;
    const int K = d.C * kh * kw, P = d.OH * d.OW;
    T* op = (T*)PyArray_DATA(*out);
    return aenet_with_one_blas_thread([&](int threads) {
        if (d.N == 0 || P == 0) { memset(op, 0, sizeof(T) * (size_t)d.M * K); return 0; }
        if (d.M == 0 || K == 0) return 0;
        return aenet_corr_grad_weights(d, (const T*)PyArray_DATA(x.a), (const T*)PyArray_DATA(t.a), op,
                                       threads, chunk_floats);
    });
}

/* BatchedCorrGradInputs: out = the gradient of an H x W image */
template <typename T>
static int aenet_batched_corr_grad_inputs(PyArrayObject* kern, PyArrayObject* topgrad, int H, int W,
                                          PyArrayObject** out, int pad_h, int pad_w, int sh, int sw,
                                          long chunk_floats) {
    if (aenet_check_4d(kern, topgrad, "BatchedCorrGradInputs")) return -1;
    aenet_contiguous k(kern), t(topgrad);
    if (!k.a || !t.a) return -1;
    aenet_corr_dims d;
    d.M = k.dim(0); d.C = k.dim(1); d.kh = k.dim(2); d.kw = k.dim(3);
    d.N = t.dim(0); d.OH = t.dim(2); d.OW = t.dim(3);
    d.H = H; d.W = W;
    d.set_steps(pad_h, pad_w, sh, sw);
    if (t.dim(1) != d.M || H < 0 || W < 0 || d.OH != d.out_h() || d.OW != d.out_w()) {
        PyErr_Format(PyExc_ValueError, "BatchedCorrGradInputs: kernel (%d, %d, %d, %d), output gradient (%d, %d, %d, %d) and image %dx%d do not fit",
                     d.M, d.C, d.kh, d.kw, d.N, (int)t.dim(1), d.OH, d.OW, H, W);
        return -1;
    }
    if (aenet_ensure_4d(out, d.N, d.C, H, W, PyArray_TYPE(k.a))) return -1;
    const int K = d.C * d.kh * d.kw, P = d.OH * d.OW;
    T* op = (T*)PyArray_DATA(*out);
    return aenet_with_one_blas_thread([&](int threads) {
        memset(op, 0, sizeof(T) * (size_t)d.N * d.C * H * W);
        if (d.N == 0 || K == 0 || P == 0 || d.M == 0) return 0;
        return aenet_corr_grad_inputs(d, (const T*)PyArray_DATA(k.a), (const T*)PyArray_DATA(t.a), op,
                                      threads, chunk_floats);
    });
}
#endif
