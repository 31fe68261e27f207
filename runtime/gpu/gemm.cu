/* gemm.cu - cuBLAS behind gemm.h. */
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdio.h>

#include "gpu/gemm.h"

static void set_status(const LlmCudaCtx *c, int code) {
    if (c->status != NULL && *c->status == 0) *c->status = code;
}

extern "C" void llm_gpu_gemm(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x, int ldx,
                             int rows, float *out, int ldc) {
    if (c->status != NULL && *c->status != 0) return;
    cublasHandle_t h = (cublasHandle_t)c->blas;
    if (h == NULL) {
        set_status(c, -1);
        return;
    }
    const float one = 1.0f, zero = 0.0f;
    /* Row-major C[rows][n] = X W^T is column-major C^T (n x rows) =
     * W^T (n x k, W stored k-major) * X^T (k x rows). */
    cublasStatus_t st;
    if (wkind == 0) {
        st = cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, (const float *)w, k, (const float *)x, ldx,
                         &zero, out, ldc);
    } else {
        cudaDataType_t t = wkind == 1 ? CUDA_R_16BF : CUDA_R_16F;
        st = cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, w, t, k, x, t, ldx, &zero, out, CUDA_R_32F,
                          ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
    }
    if (st != CUBLAS_STATUS_SUCCESS) set_status(c, (int)st);
}

/* Default math mode: cublasSgemm stays IEEE float32 (TF32 is opt-in). */
extern "C" int llm_gpu_blas_create(void *stream, void *workspace, size_t workspace_bytes, void **handle, char *msg,
                                   size_t cap) {
    cublasHandle_t h = NULL;
    cublasStatus_t st = cublasCreate(&h);
    if (st != CUBLAS_STATUS_SUCCESS) {
        snprintf(msg, cap, "cublasCreate failed: %s", cublasGetStatusString(st));
        return -1;
    }
    if ((st = cublasSetStream(h, (cudaStream_t)stream)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetWorkspace(h, workspace, workspace_bytes)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(msg, cap, "cuBLAS handle setup failed: %s", cublasGetStatusString(st));
        cublasDestroy(h);
        return -1;
    }
    *handle = h;
    return 0;
}

extern "C" void llm_gpu_blas_destroy(void *handle) {
    if (handle != NULL) cublasDestroy((cublasHandle_t)handle);
}
