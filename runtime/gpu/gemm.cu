/* gemm.cu - cuBLAS and cuBLASLt behind gemm.h. */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/gemm.h"

/* One residual product shape (cuBLASLt): descriptors and the algorithm the
 * heuristic chose, made on first use and kept (a step's row count varies,
 * so a server meets at most max_tokens shapes per projection). */
typedef struct LtKey {
    int wkind, n, k, rows, ldx, ldr, ldc, align; /* align: of every pointer, bytes (<= 256) */
} LtKey;

typedef struct LtPlan {
    LtKey key;
    int used;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, cl, dl;
    cublasLtMatmulAlgo_t algo;
} LtPlan;

typedef struct LlmBlas {
    cublasHandle_t h;
    cublasLtHandle_t lt;
    void *ws;
    size_t ws_bytes;
    LtPlan *plans; /* open addressing, cap a power of two, at most half full */
    int n_plans, cap_plans;
} LlmBlas;

static void set_status(const LlmCudaCtx *c, int code) {
    if (c->status != NULL && *c->status == 0) *c->status = code;
}

static cudaDataType_t in_type(int wkind) {
    return wkind == 0 ? CUDA_R_32F : wkind == 1 ? CUDA_R_16BF : CUDA_R_16F;
}

extern "C" void llm_gpu_gemm_ex(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x,
                                int ldx, int rows, void *out, int ldc, int out_kind, const float *res, int ldr);

extern "C" void llm_gpu_gemm(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x, int ldx,
                             int rows, float *out, int ldc) {
    llm_gpu_gemm_ex(c, wkind, w, n, k, x, ldx, rows, out, ldc, LLM_GEMM_OUT_F32, NULL, 0);
}

static uint64_t key_hash(const LtKey *k) {
    uint64_t h = 1469598103934665603ull;
    const int *v = (const int *)k;
    for (size_t i = 0; i < sizeof *k / sizeof(int); i++) h = (h ^ (uint32_t)v[i]) * 1099511628211ull;
    return h;
}

static LtPlan *plan_slot(LtPlan *tab, int cap, const LtKey *k) {
    for (uint64_t i = key_hash(k) & (uint64_t)(cap - 1);; i = (i + 1) & (uint64_t)(cap - 1))
        if (!tab[i].used || memcmp(&tab[i].key, k, sizeof *k) == 0) return &tab[i];
}

static void plan_free(LtPlan *p) {
    cublasLtMatrixLayoutDestroy(p->a);
    cublasLtMatrixLayoutDestroy(p->b);
    cublasLtMatrixLayoutDestroy(p->cl);
    cublasLtMatrixLayoutDestroy(p->dl);
    cublasLtMatmulDescDestroy(p->op);
}

/* Builds the plan of k (descriptors, heuristic); a cuBLAS status on failure. */
static int plan_make(LlmBlas *b, const LtKey *k, LtPlan *p) {
    memset(p, 0, sizeof *p);
    p->key = *k;
    const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    const cudaDataType_t t = in_type(k->wkind);
    cublasStatus_t st;
    cublasLtMatmulPreference_t pref = NULL;
    const uint32_t al = (uint32_t)k->align;
    cublasLtMatmulHeuristicResult_t hr;
    int found = 0;
    /* Row-major D[rows][n] = R + X W^T is column-major D^T (n x rows) = W^T X^T + R^T. */
    if ((st = cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatrixLayoutCreate(&p->a, t, (uint64_t)k->k, (uint64_t)k->n, k->k)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatrixLayoutCreate(&p->b, t, (uint64_t)k->k, (uint64_t)k->rows, k->ldx)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatrixLayoutCreate(&p->cl, CUDA_R_32F, (uint64_t)k->n, (uint64_t)k->rows, k->ldr)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatrixLayoutCreate(&p->dl, CUDA_R_32F, (uint64_t)k->n, (uint64_t)k->rows, k->ldc)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceCreate(&pref)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &b->ws_bytes,
                                                   sizeof b->ws_bytes)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &al, sizeof al)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &al, sizeof al)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &al, sizeof al)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &al, sizeof al)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtMatmulAlgoGetHeuristic(b->lt, p->op, p->a, p->b, p->cl, p->dl, pref, 1, &hr, &found)) != CUBLAS_STATUS_SUCCESS) {
        if (pref != NULL) cublasLtMatmulPreferenceDestroy(pref);
        plan_free(p);
        return (int)st;
    }
    cublasLtMatmulPreferenceDestroy(pref);
    if (found < 1) {
        plan_free(p);
        return (int)CUBLAS_STATUS_NOT_SUPPORTED;
    }
    p->algo = hr.algo;
    p->used = 1;
    return 0;
}

/* The plan of k, made on first use; NULL with *status set on failure. */
static LtPlan *plan_get(LlmBlas *b, const LtKey *k, int *status) {
    if (b->cap_plans > 0) {
        LtPlan *p = plan_slot(b->plans, b->cap_plans, k);
        if (p->used) return p;
    }
    if (2 * (b->n_plans + 1) > b->cap_plans) { /* grow: rehash into twice the slots */
        const int cap = b->cap_plans > 0 ? 2 * b->cap_plans : 64;
        LtPlan *tab = cap <= (1 << 20) ? (LtPlan *)calloc((size_t)(unsigned)cap, sizeof *tab) : NULL;
        if (tab == NULL) {
            *status = (int)CUBLAS_STATUS_ALLOC_FAILED;
            return NULL;
        }
        for (int i = 0; i < b->cap_plans; i++)
            if (b->plans[i].used) *plan_slot(tab, cap, &b->plans[i].key) = b->plans[i];
        free(b->plans);
        b->plans = tab;
        b->cap_plans = cap;
    }
    LtPlan *p = plan_slot(b->plans, b->cap_plans, k);
    if ((*status = plan_make(b, k, p)) != 0) return NULL;
    b->n_plans++;
    return p;
}

static int ptr_align(const void *p) {
    uintptr_t a = (uintptr_t)p;
    int al = 256;
    while (al > 1 && a % (uintptr_t)al != 0) al /= 2;
    return al;
}

extern "C" void llm_gpu_gemm_ex(const LlmCudaCtx *c, int wkind, const void *w, int n, int k, const void *x,
                                int ldx, int rows, void *out, int ldc, int out_kind, const float *res, int ldr) {
    if (c->status != NULL && *c->status != 0) return;
    LlmBlas *b = (LlmBlas *)c->blas;
    if (b == NULL || (out_kind == LLM_GEMM_OUT_BF16 && (wkind != 1 || res != NULL))) {
        set_status(c, -1);
        return;
    }
    const float one = 1.0f, zero = 0.0f;
    if (res != NULL) {
        int al = ptr_align(w), a2;
        if ((a2 = ptr_align(x)) < al) al = a2;
        if ((a2 = ptr_align(res)) < al) al = a2;
        if ((a2 = ptr_align(out)) < al) al = a2;
        LtKey key = {wkind, n, k, rows, ldx, ldr, ldc, al};
        int status = 0;
        LtPlan *p = plan_get(b, &key, &status);
        if (p == NULL) {
            set_status(c, status);
            return;
        }
        cublasStatus_t st = cublasLtMatmul(b->lt, p->op, &one, w, p->a, x, p->b, &one, res, p->cl, out, p->dl,
                                           &p->algo, b->ws, b->ws_bytes, (cudaStream_t)c->stream);
        if (st != CUBLAS_STATUS_SUCCESS) set_status(c, (int)st);
        return;
    }
    /* Row-major C[rows][n] = X W^T is column-major C^T (n x rows) =
     * W^T (n x k, W stored k-major) * X^T (k x rows). */
    cublasStatus_t st;
    if (wkind == 0) {
        st = cublasSgemm(b->h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, (const float *)w, k, (const float *)x, ldx,
                         &zero, (float *)out, ldc);
    } else {
        cudaDataType_t t = in_type(wkind);
        st = cublasGemmEx(b->h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &one, w, t, k, x, t, ldx, &zero, out,
                          out_kind == LLM_GEMM_OUT_BF16 ? CUDA_R_16BF : CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT);
    }
    if (st != CUBLAS_STATUS_SUCCESS) set_status(c, (int)st);
}

/* Default math mode: cublasSgemm stays IEEE float32 (TF32 is opt-in). */
extern "C" int llm_gpu_blas_create(void *stream, void *workspace, size_t workspace_bytes, void **handle, char *msg,
                                   size_t cap) {
    LlmBlas *b = (LlmBlas *)calloc(1, sizeof *b);
    if (b == NULL) {
        snprintf(msg, cap, "out of host memory for the cuBLAS handle");
        return -1;
    }
    cublasStatus_t st = cublasCreate(&b->h);
    if (st != CUBLAS_STATUS_SUCCESS) {
        snprintf(msg, cap, "cublasCreate failed: %s", cublasGetStatusString(st));
        free(b);
        return -1;
    }
    if ((st = cublasSetStream(b->h, (cudaStream_t)stream)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetWorkspace(b->h, workspace, workspace_bytes)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasLtCreate(&b->lt)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(msg, cap, "cuBLAS handle setup failed: %s", cublasGetStatusString(st));
        cublasDestroy(b->h);
        free(b);
        return -1;
    }
    b->ws = workspace;
    b->ws_bytes = workspace_bytes;
    *handle = b;
    return 0;
}

extern "C" void llm_gpu_blas_destroy(void *handle) {
    LlmBlas *b = (LlmBlas *)handle;
    if (b == NULL) return;
    for (int i = 0; i < b->cap_plans; i++)
        if (b->plans[i].used) plan_free(&b->plans[i]);
    free(b->plans);
    cublasLtDestroy(b->lt);
    cublasDestroy(b->h);
    free(b);
}
