/* gemm_tune.cu - how fast the projections' products run at serving row
 * counts, and how much a different cuBLASLt algorithm would gain.
 *
 * For each projection of a model shape (qkv, o + residual, gate/up with
 * bf16 output, down + residual, lm_head) and each row count it times
 *   - "gemmex": cublasGemmEx with CUBLAS_GEMM_DEFAULT (the path without a
 *     residual in runtime/gpu/gemm.cu),
 *   - "lt1": cuBLASLt's first heuristic answer (the residual path there),
 *   - "best": the fastest of up to 32 heuristic answers,
 * with the weights rotated over enough copies to leave L2 (as in a step,
 * where each projection's weights are read once), and prints TFLOP/s, the
 * weight-read bandwidth and the best algorithm's configuration (tile id,
 * split-K, stages). A benchmark: it prints numbers and checks nothing but
 * that every call succeeds.
 *
 * build: nvcc -O2 -std=c++17 -gencode arch=compute_90,code=sm_90 tests/gpu/gemm_tune.cu -lcublasLt -lcublas
 * usage: gemm_tune [ROWS,ROWS,...] [HIDDEN INTER QKV VOCAB]   (default 8B: 4096 14336 6144 128256)
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CK(x)                                                                                     \
    do {                                                                                          \
        cudaError_t e_ = (x);                                                                     \
        if (e_ != cudaSuccess) {                                                                  \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e_));           \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)
#define BK(x)                                                                                     \
    do {                                                                                          \
        cublasStatus_t s_ = (x);                                                                  \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                        \
            fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cublasGetStatusString(s_));        \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

enum { OUT_F32, OUT_BF16, OUT_RES };

typedef struct Shape {
    const char *name;
    int n, k, out;
} Shape;

static const size_t WS = (size_t)32 << 20;
static cublasHandle_t H;
static cublasLtHandle_t LT;
static void *ws;
static cudaStream_t st;

/* Weight copies so that one pass over them is > 256 MB (L2 is 50 MB). */
static int n_copies(size_t wbytes) {
    size_t c = ((size_t)256 << 20) / wbytes + 1;
    return c > 16 ? 16 : (int)c;
}

__global__ void fill(__nv_bfloat16 *p, size_t n, unsigned seed) {
    for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
        unsigned h = (unsigned)i * 2654435761u ^ seed;
        h ^= h >> 13;
        h *= 0x5bd1e995u;
        h ^= h >> 15;
        p[i] = __float2bfloat16(((float)(h & 0xffff) / 65536.0f - 0.5f) * 0.05f);
    }
}

typedef struct Ctx {
    const Shape *s;
    int rows, nc;
    __nv_bfloat16 **w, *x;
    void *out;
    float *res;
} Ctx;

static float time_it(const Ctx *c, int iters, void (*run)(const Ctx *, int, const void *), const void *arg) {
    cudaEvent_t a, b;
    CK(cudaEventCreate(&a));
    CK(cudaEventCreate(&b));
    for (int i = 0; i < 3; i++) run(c, i % c->nc, arg);
    CK(cudaEventRecord(a, st));
    for (int i = 0; i < iters; i++) run(c, i % c->nc, arg);
    CK(cudaEventRecord(b, st));
    CK(cudaEventSynchronize(b));
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, a, b));
    CK(cudaEventDestroy(a));
    CK(cudaEventDestroy(b));
    return ms * 1000.0f / (float)iters;
}

static void run_gemmex(const Ctx *c, int wi, const void *arg) {
    (void)arg;
    const float one = 1.0f, zero = 0.0f;
    BK(cublasGemmEx(H, CUBLAS_OP_T, CUBLAS_OP_N, c->s->n, c->rows, c->s->k, &one, c->w[wi], CUDA_R_16BF, c->s->k,
                    c->x, CUDA_R_16BF, c->s->k, &zero, c->out, c->s->out == OUT_BF16 ? CUDA_R_16BF : CUDA_R_32F,
                    c->s->n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

typedef struct LtOp {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, cl, dl;
    const cublasLtMatmulAlgo_t *algo;
} LtOp;

static void run_lt(const Ctx *c, int wi, const void *arg) {
    const LtOp *o = (const LtOp *)arg;
    const float one = 1.0f, zero = 0.0f;
    const int res = c->s->out == OUT_RES;
    BK(cublasLtMatmul(LT, o->op, &one, c->w[wi], o->a, c->x, o->b, res ? &one : &zero, res ? (void *)c->res : c->out,
                      o->cl, c->out, o->dl, o->algo, ws, WS, st));
}

static void algo_desc(const cublasLtMatmulAlgo_t *a, char *buf, size_t cap) {
    int id = 0, tile = 0, splitk = 0, red = 0, stages = 0, cluster = 0, swz = 0;
    size_t w;
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof splitk, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, sizeof red, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof stages, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cluster, sizeof cluster, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swz, sizeof swz, &w);
    snprintf(buf, cap, "id%d tile%d sk%d red%d st%d cl%d sw%d", id, tile, splitk, red, stages, cluster, swz);
}

int main(int argc, char **argv) {
    int rows_list[32], n_rows = 0;
    const char *rl = argc > 1 ? argv[1] : "64,128,256,384,512,768,1024";
    for (const char *p = rl; *p;) {
        rows_list[n_rows++] = atoi(p);
        while (*p && *p != ',') p++;
        if (*p == ',') p++;
        if (n_rows == 32) break;
    }
    int hid = 4096, inter = 14336, qkv = 6144, vocab = 128256;
    if (argc > 5) hid = atoi(argv[2]), inter = atoi(argv[3]), qkv = atoi(argv[4]), vocab = atoi(argv[5]);
    const Shape shapes[] = {{"qkv", qkv, hid, OUT_F32},
                            {"o+res", hid, hid, OUT_RES},
                            {"gate/up bf16", 2 * inter, hid, OUT_BF16},
                            {"down+res", hid, inter, OUT_RES},
                            {"lm_head", vocab, hid, OUT_F32}};
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
    CK(cudaStreamCreate(&st));
    BK(cublasCreate(&H));
    BK(cublasSetStream(H, st));
    BK(cublasLtCreate(&LT));
    CK(cudaMalloc(&ws, WS));
    BK(cublasSetWorkspace(H, ws, WS));
    int max_rows = 0;
    for (int i = 0; i < n_rows; i++)
        if (rows_list[i] > max_rows) max_rows = rows_list[i];
    printf("%-13s %5s | %8s %8s %8s | %7s %7s %7s | %6s | best algo (lt1 algo)\n", "product", "rows", "gemmex",
           "lt1", "best", "TF/s", "TF/s", "TF/s", "GB/s");
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const Shape *s = &shapes[si];
        const size_t wn = (size_t)s->n * s->k;
        const int nc = n_copies(wn * 2);
        Ctx c;
        memset(&c, 0, sizeof c);
        c.s = s;
        c.nc = nc;
        c.w = (__nv_bfloat16 **)calloc((size_t)nc, sizeof *c.w);
        for (int i = 0; i < nc; i++) {
            CK(cudaMalloc(&c.w[i], wn * 2));
            fill<<<1024, 256, 0, st>>>(c.w[i], wn, 17u + (unsigned)i);
        }
        CK(cudaMalloc(&c.x, (size_t)max_rows * s->k * 2));
        fill<<<1024, 256, 0, st>>>(c.x, (size_t)max_rows * s->k, 99u);
        CK(cudaMalloc(&c.out, (size_t)max_rows * s->n * 4));
        CK(cudaMalloc(&c.res, (size_t)max_rows * s->n * 4));
        CK(cudaMemsetAsync(c.res, 0, (size_t)max_rows * s->n * 4, st));
        for (int ri = 0; ri < n_rows; ri++) {
            c.rows = rows_list[ri];
            const double flop = 2.0 * c.rows * (double)s->n * s->k;
            const int iters = flop < 1e11 ? 60 : 20;
            float t_ex = -1;
            if (s->out != OUT_RES) t_ex = time_it(&c, iters, run_gemmex, NULL);
            LtOp o;
            const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
            const cudaDataType_t od = s->out == OUT_BF16 ? CUDA_R_16BF : CUDA_R_32F;
            BK(cublasLtMatmulDescCreate(&o.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
            BK(cublasLtMatmulDescSetAttribute(o.op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA));
            BK(cublasLtMatmulDescSetAttribute(o.op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB));
            BK(cublasLtMatrixLayoutCreate(&o.a, CUDA_R_16BF, (uint64_t)s->k, (uint64_t)s->n, s->k));
            BK(cublasLtMatrixLayoutCreate(&o.b, CUDA_R_16BF, (uint64_t)s->k, (uint64_t)c.rows, s->k));
            BK(cublasLtMatrixLayoutCreate(&o.cl, od, (uint64_t)s->n, (uint64_t)c.rows, s->n));
            BK(cublasLtMatrixLayoutCreate(&o.dl, od, (uint64_t)s->n, (uint64_t)c.rows, s->n));
            cublasLtMatmulPreference_t pref;
            BK(cublasLtMatmulPreferenceCreate(&pref));
            BK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &WS, sizeof WS));
            cublasLtMatmulHeuristicResult_t hr[32];
            int found = 0;
            BK(cublasLtMatmulAlgoGetHeuristic(LT, o.op, o.a, o.b, o.cl, o.dl, pref, 32, hr, &found));
            float t1 = -1, tb = 1e30f;
            int bi = -1;
            for (int i = 0; i < found; i++) {
                if (hr[i].state != CUBLAS_STATUS_SUCCESS) continue;
                o.algo = &hr[i].algo;
                const float t = time_it(&c, iters, run_lt, &o);
                if (i == 0) t1 = t;
                if (t < tb) tb = t, bi = i;
            }
            char d1[96] = "-", db[96] = "-";
            if (found > 0) algo_desc(&hr[0].algo, d1, sizeof d1);
            if (bi >= 0) algo_desc(&hr[bi].algo, db, sizeof db);
            const double wgb = (double)wn * 2 / (tb * 1e-6) / 1e9;
            printf("%-13s %5d | %8.1f %8.1f %8.1f | %7.0f %7.0f %7.0f | %6.0f | #%d/%d %s (%s)\n", s->name, c.rows,
                   t_ex, t1, tb, t_ex > 0 ? flop / (t_ex * 1e-6) / 1e12 : 0.0, flop / (t1 * 1e-6) / 1e12,
                   flop / (tb * 1e-6) / 1e12, wgb, bi, found, db, d1);
            fflush(stdout);
            cublasLtMatmulPreferenceDestroy(pref);
            cublasLtMatrixLayoutDestroy(o.a);
            cublasLtMatrixLayoutDestroy(o.b);
            cublasLtMatrixLayoutDestroy(o.cl);
            cublasLtMatrixLayoutDestroy(o.dl);
            cublasLtMatmulDescDestroy(o.op);
        }
        for (int i = 0; i < nc; i++) CK(cudaFree(c.w[i]));
        free(c.w);
        CK(cudaFree(c.x));
        CK(cudaFree(c.out));
        CK(cudaFree(c.res));
    }
    printf("times in us per product (weights rotated over copies > 256 MB); GB/s = weight bytes / best time\n");
    return 0;
}
