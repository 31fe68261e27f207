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
 * With --search it looks beyond the heuristic: for each product and row
 * count it times lt1 (the baseline), then every algorithm id
 * cublasLtMatmulAlgoGetIds lists for the type combination, in three passes
 * (each configuration first passes cublasLtMatmulAlgoCheck and fits the
 * 32 MB workspace, then is timed over 10 calls):
 *   1. every id x tile x stages, split-K 1, cluster shape and swizzle left
 *      at their defaults (each id gets a share of the limits, the ids the
 *      heuristic answers with 8 shares; a cut share drops small tiles);
 *   2. for each (id, tile) the fastest stages of pass 1 x split-K 2..8 x
 *      each supported reduction scheme;
 *   3. the best 5 so far x a few cluster shapes x CTA swizzle 0/1 (the
 *      header has no capability listing cluster shapes).
 * The best 5 are re-timed with the normal count and printed with the
 * speed-up over lt1. At most 4000 configurations are checked and 1500
 * timed per product and row count; a configuration that fails at run time
 * is skipped (the program aborts only if the CUDA context is lost).
 *
 * build: nvcc -O2 -std=c++17 -gencode arch=compute_90,code=sm_90 tests/gpu/gemm_tune.cu -lcublasLt -lcublas
 * usage: gemm_tune [--search] [ROWS,ROWS,...] [HIDDEN INTER QKV VOCAB]   (default 8B: 4096 14336 6144 128256)
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <stdint.h>
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
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

enum { OUT_F32, OUT_BF16, OUT_RES };

/* What main does for each product and row count. */
enum Mode { MODE_TABLE, MODE_SEARCH };

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

static cudaDataType_t out_type(const Shape *s) { return s->out == OUT_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

static double row_flop(const Ctx *c) { return 2.0 * c->rows * (double)c->s->n * c->s->k; }

/* Timed calls per measurement outside the search's quick ranking. */
static int normal_iters(const Ctx *c) { return row_flop(c) < 1e11 ? 60 : 20; }

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
    BK(cublasGemmEx(H, CUBLAS_OP_T, CUBLAS_OP_N, c->s->n, c->rows, c->s->k, &one, c->w[wi], CUDA_R_16BF, c->s->k, c->x,
                    CUDA_R_16BF, c->s->k, &zero, c->out, out_type(c->s), c->s->n, CUBLAS_COMPUTE_32F,
                    CUBLAS_GEMM_DEFAULT));
}

typedef struct LtOp {
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, cl, dl;
    const cublasLtMatmulAlgo_t *algo;
} LtOp;

/* Descriptors for D = W^T x (+ C): W column-major [k, n] (a row-major
 * [n, k] weight), x column-major [k, rows], C and D [n, rows] in the
 * shape's output type. o->algo is left for the caller. */
static void lt_op_create(LtOp *o, const Shape *s, int rows) {
    const cublasOperation_t tA = CUBLAS_OP_T, tB = CUBLAS_OP_N;
    const cudaDataType_t od = out_type(s);
    BK(cublasLtMatmulDescCreate(&o->op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    BK(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSA, &tA, sizeof tA));
    BK(cublasLtMatmulDescSetAttribute(o->op, CUBLASLT_MATMUL_DESC_TRANSB, &tB, sizeof tB));
    BK(cublasLtMatrixLayoutCreate(&o->a, CUDA_R_16BF, (uint64_t)s->k, (uint64_t)s->n, s->k));
    BK(cublasLtMatrixLayoutCreate(&o->b, CUDA_R_16BF, (uint64_t)s->k, (uint64_t)rows, s->k));
    BK(cublasLtMatrixLayoutCreate(&o->cl, od, (uint64_t)s->n, (uint64_t)rows, s->n));
    BK(cublasLtMatrixLayoutCreate(&o->dl, od, (uint64_t)s->n, (uint64_t)rows, s->n));
    o->algo = NULL;
}

static void lt_op_destroy(LtOp *o) {
    cublasLtMatrixLayoutDestroy(o->a);
    cublasLtMatrixLayoutDestroy(o->b);
    cublasLtMatrixLayoutDestroy(o->cl);
    cublasLtMatrixLayoutDestroy(o->dl);
    cublasLtMatmulDescDestroy(o->op);
}

/* Up to max heuristic answers for o within the workspace; returns how many. */
static int lt_heuristic(const LtOp *o, cublasLtMatmulHeuristicResult_t *hr, int max) {
    cublasLtMatmulPreference_t pref;
    int found = 0;
    BK(cublasLtMatmulPreferenceCreate(&pref));
    BK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &WS, sizeof WS));
    BK(cublasLtMatmulAlgoGetHeuristic(LT, o->op, o->a, o->b, o->cl, o->dl, pref, max, hr, &found));
    cublasLtMatmulPreferenceDestroy(pref);
    return found;
}

/* One product with weight copy wi and o->algo; returns cuBLASLt's status. */
static cublasStatus_t lt_call(const Ctx *c, int wi, const LtOp *o) {
    const float one = 1.0f, zero = 0.0f;
    const int res = c->s->out == OUT_RES;
    return cublasLtMatmul(LT, o->op, &one, c->w[wi], o->a, c->x, o->b, res ? &one : &zero,
                          res ? (void *)c->res : c->out, o->cl, c->out, o->dl, o->algo, ws, WS, st);
}

static void run_lt(const Ctx *c, int wi, const void *arg) { BK(lt_call(c, wi, (const LtOp *)arg)); }

static void algo_desc(const cublasLtMatmulAlgo_t *a, char *buf, size_t cap) {
    int id = 0, tile = 0, splitk = 0, red = 0, stages = 0, swz = 0;
    uint16_t cluster = 0; /* the one 16-bit config attribute */
    size_t w;
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_TILE_ID, &tile, sizeof tile, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &splitk, sizeof splitk, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &red, sizeof red, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_STAGES_ID, &stages, sizeof stages, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &cluster, sizeof cluster, &w);
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &swz, sizeof swz, &w);
    snprintf(buf, cap, "id%d tile%d sk%d red%d st%d cl%d sw%d", id, tile, splitk, red, stages, (int)cluster, swz);
}

/* Table mode: gemmex, lt1 and the best heuristic answer for one row count. */
static void table_row(const Ctx *c) {
    const Shape *s = c->s;
    const double flop = row_flop(c);
    const int iters = normal_iters(c);
    float t_ex = -1;
    if (s->out != OUT_RES) t_ex = time_it(c, iters, run_gemmex, NULL);
    LtOp o;
    lt_op_create(&o, s, c->rows);
    cublasLtMatmulHeuristicResult_t hr[32];
    const int found = lt_heuristic(&o, hr, 32);
    float t1 = -1, tb = 1e30f;
    int bi = -1;
    for (int i = 0; i < found; i++) {
        if (hr[i].state != CUBLAS_STATUS_SUCCESS) continue;
        o.algo = &hr[i].algo;
        const float t = time_it(c, iters, run_lt, &o);
        if (i == 0) t1 = t;
        if (t < tb) tb = t, bi = i;
    }
    char d1[96] = "-", db[96] = "-";
    if (found > 0) algo_desc(&hr[0].algo, d1, sizeof d1);
    if (bi >= 0) algo_desc(&hr[bi].algo, db, sizeof db);
    const double wgb = (double)s->n * s->k * 2 / (tb * 1e-6) / 1e9;
    printf("%-13s %5d | %8.1f %8.1f %8.1f | %7.0f %7.0f %7.0f | %6.0f | #%d/%d %s (%s)\n", s->name, c->rows, t_ex, t1,
           tb, t_ex > 0 ? flop / (t_ex * 1e-6) / 1e12 : 0.0, flop / (t1 * 1e-6) / 1e12, flop / (tb * 1e-6) / 1e12, wgb,
           bi, found, db, d1);
    fflush(stdout);
    lt_op_destroy(&o);
}

/* ---- search mode: configurations beyond the heuristic's answers ---- */

enum {
    SEARCH_MAX_IDS = 64,       /* algorithm ids asked of cublasLtMatmulAlgoGetIds */
    SEARCH_MAX_CHECKED = 4000, /* configurations checked, per product and row count */
    SEARCH_MAX_TIMED = 1500,   /* configurations that passed the check and were run, per product and row count */
    SEARCH_QUICK_ITERS = 10,   /* timed calls per configuration while ranking (after 2 warm-ups and a probe) */
    SEARCH_TOP = 5,            /* configurations refined in pass 3 and re-timed at the end */
    SEARCH_HEUR_WEIGHT = 8,    /* pass 1 shares of an id among the heuristic's answers (other ids: 1) */
};

/* Split-K counts tried beyond 1 in pass 2. */
static const int32_t SEARCH_SPLITS[] = {2, 3, 4, 6, 8};

/* Cluster shapes tried in pass 3 (the header has no capability that lists
 * an algorithm's shapes; the check rejects those it cannot run). */
static const uint16_t SEARCH_CLUSTERS[] = {CUBLASLT_CLUSTER_SHAPE_AUTO, CUBLASLT_CLUSTER_SHAPE_1x1x1,
                                           CUBLASLT_CLUSTER_SHAPE_2x1x1, CUBLASLT_CLUSTER_SHAPE_1x2x1,
                                           CUBLASLT_CLUSTER_SHAPE_2x2x1};

/* Pass 3's most configurations (SEARCH_TOP x clusters x 2 swizzles), kept
 * out of what passes 1 and 2 may use. */
static const int SEARCH_REFINE_MAX = SEARCH_TOP * (int)COUNT(SEARCH_CLUSTERS) * 2;

/* One point of the search space: the config attributes set on an algorithm. */
typedef struct AlgoCfg {
    uint32_t tile;    /* cublasLtMatmulTile_t */
    uint32_t stages;  /* cublasLtMatmulStages_t */
    int32_t splitk;   /* K splits, 1 = none */
    uint32_t red;     /* cublasLtReductionScheme_t, NONE when splitk is 1 */
    uint16_t cluster; /* cublasLtClusterShape_t */
    uint32_t swizzle; /* CTA swizzling, 0 or 1 */
} AlgoCfg;

/* A configuration that passed the check and ran. */
typedef struct Cand {
    cublasLtMatmulAlgo_t algo; /* configured with cfg */
    int id;                    /* its algorithm id */
    AlgoCfg cfg;
    float us;    /* quick time per call; the probe's when it was too slow for a full count */
    float waves; /* cublasLtMatmulAlgoCheck's wave count (1.0: one full wave of CTAs) */
} Cand;

/* The two events a search times between. */
typedef struct Timer {
    cudaEvent_t a, b;
} Timer;

/* One product and row count's search. The limits are lowered for a pass or
 * an algorithm id's share; cand holds what ran, n_cand <= valid. */
typedef struct Search {
    const Ctx *c;
    LtOp o; /* descriptors; o.algo points at the configuration being run */
    Timer tm;
    float give_up_us;   /* a probe slower than this (2x lt1) is not timed in full */
    int max_checked;    /* current limit on checked */
    int max_valid;      /* current limit on valid, <= SEARCH_MAX_TIMED */
    int checked, valid; /* configurations checked; passing the check and run */
    int n_cand;         /* configurations timed (ran without an error) */
    Cand *cand;         /* [SEARCH_MAX_TIMED] */
} Search;

/* After a call in search mode: 1 when the stream ran clean, 0 after an
 * error that clearing removes (the search skips the configuration). A
 * sticky error, still there after clearing, means the context is lost. */
static int cuda_recover(void) {
    const cudaError_t launch = cudaGetLastError();
    const cudaError_t run = cudaStreamSynchronize(st);
    if (launch == cudaSuccess && run == cudaSuccess) return 1;
    (void)cudaGetLastError();
    const cudaError_t again = cudaStreamSynchronize(st);
    if (again != cudaSuccess) {
        fprintf(stderr, "%s:%d: CUDA context lost: %s\n", __FILE__, __LINE__, cudaGetErrorString(again));
        exit(1);
    }
    return 0;
}

/* Runs n products from weight copy `first` on, rotating the copies as
 * time_it does; returns us per product, or -1 when a call failed. */
static float lt_elapsed_us(const Ctx *c, const LtOp *o, const Timer *tm, int first, int n) {
    CK(cudaEventRecord(tm->a, st));
    for (int i = 0; i < n; i++)
        if (lt_call(c, (first + i) % c->nc, o) != CUBLAS_STATUS_SUCCESS) {
            cuda_recover();
            return -1;
        }
    CK(cudaEventRecord(tm->b, st));
    if (!cuda_recover()) return -1;
    float ms = 0;
    CK(cudaEventElapsedTime(&ms, tm->a, tm->b));
    return ms * 1000.0f / (float)n;
}

/* Times o->algo: 2 warm-ups, one probe call, then iters calls. Returns us
 * per call (the probe's alone when it is above give_up_us), -1 on failure. */
static float time_lt_try(const Ctx *c, const LtOp *o, const Timer *tm, int iters, float give_up_us) {
    if (lt_elapsed_us(c, o, tm, 0, 2) < 0) return -1;
    const float probe = lt_elapsed_us(c, o, tm, 2, 1);
    if (probe < 0 || probe > give_up_us) return probe;
    return lt_elapsed_us(c, o, tm, 0, iters);
}

static cublasStatus_t algo_configure(cublasLtMatmulAlgo_t *a, const AlgoCfg *g) {
    const struct {
        cublasLtMatmulAlgoConfigAttributes_t attr;
        const void *v;
        size_t n;
    } set[] = {{CUBLASLT_ALGO_CONFIG_TILE_ID, &g->tile, sizeof g->tile},
               {CUBLASLT_ALGO_CONFIG_STAGES_ID, &g->stages, sizeof g->stages},
               {CUBLASLT_ALGO_CONFIG_SPLITK_NUM, &g->splitk, sizeof g->splitk},
               {CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &g->red, sizeof g->red},
               {CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, &g->cluster, sizeof g->cluster},
               {CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, &g->swizzle, sizeof g->swizzle}};
    for (size_t i = 0; i < COUNT(set); i++) {
        const cublasStatus_t s = cublasLtMatmulAlgoConfigSetAttribute(a, set[i].attr, set[i].v, set[i].n);
        if (s != CUBLAS_STATUS_SUCCESS) return s;
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* A 32-bit capability of an algorithm (int32_t or uint32_t), 0 if unreadable. */
static uint32_t algo_cap_u32(const cublasLtMatmulAlgo_t *a, cublasLtMatmulAlgoCapAttributes_t attr) {
    uint32_t v = 0;
    size_t w;
    if (cublasLtMatmulAlgoCapGetAttribute(a, attr, &v, sizeof v, &w) != CUBLAS_STATUS_SUCCESS) return 0;
    return v;
}

/* An id-list capability (tile or stages ids) into ids[cap]; returns the
 * count. An algorithm with none gets the one UNDEFINED id, 0. */
static int algo_cap_ids(const cublasLtMatmulAlgo_t *a, cublasLtMatmulAlgoCapAttributes_t attr, uint32_t *ids, int cap) {
    size_t need = 0, w = 0;
    if (cublasLtMatmulAlgoCapGetAttribute(a, attr, NULL, 0, &need) != CUBLAS_STATUS_SUCCESS || need == 0 ||
        need > (size_t)cap * sizeof *ids ||
        cublasLtMatmulAlgoCapGetAttribute(a, attr, ids, need, &w) != CUBLAS_STATUS_SUCCESS || w < sizeof *ids) {
        ids[0] = 0;
        return 1;
    }
    return (int)(w / sizeof *ids);
}

static int algo_id(const cublasLtMatmulAlgo_t *a) {
    int id = -1;
    size_t w;
    cublasLtMatmulAlgoConfigGetAttribute(a, CUBLASLT_ALGO_CONFIG_ID, &id, sizeof id, &w);
    return id;
}

static int u32_desc(const void *x, const void *y) {
    const uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a < b) - (a > b);
}

static int cand_faster(const void *x, const void *y) {
    const float a = ((const Cand *)x)->us, b = ((const Cand *)y)->us;
    return (a > b) - (a < b);
}

/* Checks base configured with g and runs it when it is valid and fits the
 * workspace. Returns 0 once a limit is reached (nothing checked), else 1. */
static int search_try(Search *s, const cublasLtMatmulAlgo_t *base, const AlgoCfg *g) {
    if (s->checked >= s->max_checked || s->valid >= s->max_valid) return 0;
    s->checked++;
    Cand *k = &s->cand[s->n_cand]; /* n_cand <= valid < max_valid <= SEARCH_MAX_TIMED */
    k->algo = *base;
    k->cfg = *g;
    cublasLtMatmulHeuristicResult_t r;
    memset(&r, 0, sizeof r);
    const LtOp *o = &s->o;
    if (algo_configure(&k->algo, g) != CUBLAS_STATUS_SUCCESS ||
        cublasLtMatmulAlgoCheck(LT, o->op, o->a, o->b, o->cl, o->dl, &k->algo, &r) != CUBLAS_STATUS_SUCCESS ||
        r.state != CUBLAS_STATUS_SUCCESS || r.workspaceSize > WS)
        return 1;
    s->valid++;
    k->id = algo_id(&k->algo);
    s->o.algo = &k->algo;
    k->us = time_lt_try(s->c, &s->o, &s->tm, SEARCH_QUICK_ITERS, s->give_up_us);
    k->waves = r.wavesCount;
    if (k->us >= 0) s->n_cand++;
    return 1;
}

/* Pass 1 for one algorithm id: every tile x stages at split-K 1. Tiles go
 * largest first, so that a cut share drops the smallest ones (8x8 ...),
 * which rarely matter at hundreds of rows. */
static void search_algo_id(Search *s, int id, int weight) {
    const cudaDataType_t od = out_type(s->c->s);
    cublasLtMatmulAlgo_t algo;
    if (cublasLtMatmulAlgoInit(LT, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16BF, CUDA_R_16BF, od, od, id, &algo) !=
        CUBLAS_STATUS_SUCCESS)
        return;
    static const int MAX_TILES = CUBLASLT_MATMUL_TILE_END, MAX_STAGES = CUBLASLT_MATMUL_STAGES_END;
    uint32_t tiles[MAX_TILES], stages[MAX_STAGES];
    const int nt = algo_cap_ids(&algo, CUBLASLT_ALGO_CAP_TILE_IDS, tiles, MAX_TILES);
    const int ns = algo_cap_ids(&algo, CUBLASLT_ALGO_CAP_STAGES_IDS, stages, MAX_STAGES);
    qsort(tiles, (size_t)nt, sizeof *tiles, u32_desc);
    const int checked0 = s->checked, valid0 = s->valid, timed0 = s->n_cand;
    AlgoCfg cfg = {0, 0, 1, CUBLASLT_REDUCTION_SCHEME_NONE, CUBLASLT_CLUSTER_SHAPE_AUTO, 0}; /* the defaults */
    int cut = 0;
    for (int t = 0; t < nt && !cut; t++)
        for (int si = 0; si < ns && !cut; si++) {
            cfg.tile = tiles[t];
            cfg.stages = stages[si];
            cut = !search_try(s, &algo, &cfg);
        }
    printf("  id %3d%s: %3d tiles x %2d stages, split-K %s, reductions 0x%x, swizzle %u: tried %d%s, valid %d, "
           "timed %d\n",
           id, weight > 1 ? " (heuristic's)" : "", nt, ns,
           algo_cap_u32(&algo, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT) ? "yes" : "no",
           algo_cap_u32(&algo, CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK),
           algo_cap_u32(&algo, CUBLASLT_ALGO_CAP_CTA_SWIZZLING_SUPPORT), s->checked - checked0,
           cut ? " (share spent, rest cut)" : "", s->valid - valid0, s->n_cand - timed0);
}

/* Puts the ids that the heuristic answers with (for this product) last,
 * weighing SEARCH_HEUR_WEIGHT; the other ids weigh 1. */
static void search_order_ids(const Search *s, int *ids, int *weight, int n) {
    cublasLtMatmulHeuristicResult_t hr[32];
    const int found = lt_heuristic(&s->o, hr, 32);
    int out[SEARCH_MAX_IDS], m = 0;
    for (int heur = 0; heur < 2; heur++)
        for (int i = 0; i < n; i++) {
            int in_hr = 0;
            for (int j = 0; j < found; j++)
                if (hr[j].state == CUBLAS_STATUS_SUCCESS && algo_id(&hr[j].algo) == ids[i]) in_hr = 1;
            if (in_hr != heur) continue;
            weight[m] = heur ? SEARCH_HEUR_WEIGHT : 1;
            out[m++] = ids[i];
        }
    memcpy(ids, out, (size_t)n * sizeof *ids);
}

/* Pass 1 over every id the type combination has, within 3/5 of the whole
 * limits. Each id gets its weight's part of what is left; the heuristic's
 * ids, last and heavier, also get what the others did not use. */
static void search_pass_ids(Search *s) {
    const cudaDataType_t od = out_type(s->c->s);
    int ids[SEARCH_MAX_IDS], weight[SEARCH_MAX_IDS], n = 0, w_left = 0;
    BK(cublasLtMatmulAlgoGetIds(LT, CUBLAS_COMPUTE_32F, CUDA_R_32F, CUDA_R_16BF, CUDA_R_16BF, od, od, SEARCH_MAX_IDS,
                                ids, &n));
    search_order_ids(s, ids, weight, n);
    for (int i = 0; i < n; i++) w_left += weight[i];
    printf("  pass 1: %d algorithm ids, split-K 1\n", n);
    const int lim_checked = SEARCH_MAX_CHECKED * 3 / 5, lim_valid = SEARCH_MAX_TIMED * 3 / 5;
    for (int i = 0; i < n; i++) {
        s->max_checked = s->checked + (lim_checked - s->checked) * weight[i] / w_left;
        s->max_valid = s->valid + (lim_valid - s->valid) * weight[i] / w_left;
        w_left -= weight[i];
        search_algo_id(s, ids[i], weight[i]);
    }
}

/* Whether cand[i] is the fastest of its (id, tile) in cand[0..i] (sorted). */
static int first_of_tile(const Search *s, int i) {
    for (int j = 0; j < i; j++)
        if (s->cand[j].id == s->cand[i].id && s->cand[j].cfg.tile == s->cand[i].cfg.tile) return 0;
    return 1;
}

/* Pass 2: split-K > 1 with each supported reduction scheme, for the
 * fastest stages of each (id, tile) of pass 1, fastest pair first. */
static void search_pass_splitk(Search *s) {
    qsort(s->cand, (size_t)s->n_cand, sizeof *s->cand, cand_faster);
    const int n1 = s->n_cand, checked0 = s->checked, valid0 = s->valid;
    int seeds = 0, more = 1;
    s->max_checked = SEARCH_MAX_CHECKED - SEARCH_REFINE_MAX;
    s->max_valid = SEARCH_MAX_TIMED - SEARCH_REFINE_MAX;
    for (int i = 0; i < n1 && more; i++) {
        const Cand *k = &s->cand[i]; /* below n1: not moved by what this pass adds */
        if (!first_of_tile(s, i) || !algo_cap_u32(&k->algo, CUBLASLT_ALGO_CAP_SPLITK_SUPPORT)) continue;
        seeds++;
        const uint32_t mask = algo_cap_u32(&k->algo, CUBLASLT_ALGO_CAP_REDUCTION_SCHEME_MASK);
        for (size_t j = 0; j < COUNT(SEARCH_SPLITS) && more; j++)
            for (uint32_t red = 1; red <= CUBLASLT_REDUCTION_SCHEME_MASK && more; red <<= 1) {
                if (!(mask & red)) continue;
                AlgoCfg g = k->cfg;
                g.splitk = SEARCH_SPLITS[j];
                g.red = red;
                more = search_try(s, &k->algo, &g);
            }
    }
    printf("  pass 2: split-K for %d (id, tile) pairs: tried %d, valid %d, timed %d\n", seeds, s->checked - checked0,
           s->valid - valid0, s->n_cand - n1);
}

/* Pass 3: the best SEARCH_TOP so far with each cluster shape and swizzle. */
static void search_pass_refine(Search *s) {
    qsort(s->cand, (size_t)s->n_cand, sizeof *s->cand, cand_faster);
    Cand top[SEARCH_TOP];
    const int nt = s->n_cand < SEARCH_TOP ? s->n_cand : SEARCH_TOP;
    memcpy(top, s->cand, (size_t)nt * sizeof *top);
    const int checked0 = s->checked, valid0 = s->valid, timed0 = s->n_cand;
    s->max_checked = SEARCH_MAX_CHECKED;
    s->max_valid = SEARCH_MAX_TIMED;
    for (int i = 0; i < nt; i++) {
        const uint32_t swz = algo_cap_u32(&top[i].algo, CUBLASLT_ALGO_CAP_CTA_SWIZZLING_SUPPORT) ? 1 : 0;
        for (size_t j = 0; j < COUNT(SEARCH_CLUSTERS); j++)
            for (uint32_t sw = 0; sw <= swz; sw++) {
                AlgoCfg g = top[i].cfg;
                if (g.cluster == SEARCH_CLUSTERS[j] && g.swizzle == sw) continue;
                g.cluster = SEARCH_CLUSTERS[j];
                g.swizzle = sw;
                search_try(s, &top[i].algo, &g);
            }
    }
    printf("  pass 3: cluster shape and swizzle for the best %d: tried %d, valid %d, timed %d\n", nt,
           s->checked - checked0, s->valid - valid0, s->n_cand - timed0);
    qsort(s->cand, (size_t)s->n_cand, sizeof *s->cand, cand_faster);
}

/* One result line: time, TFLOP/s, weight GB/s. */
static void print_time(const Ctx *c, const char *label, float us) {
    const double wbytes = (double)c->s->n * c->s->k * 2;
    if (us < 0) {
        printf("  %-8s   failed", label);
        return;
    }
    printf("  %-8s %8.1f us %5.0f TF/s %6.0f GB/s", label, us, row_flop(c) / (us * 1e-6) / 1e12,
           wbytes / (us * 1e-6) / 1e9);
}

/* Re-times the best SEARCH_TOP with the normal count and prints them;
 * returns the best re-timed time (1e30 if none ran). */
static float search_report_top(Search *s) {
    const int nt = s->n_cand < SEARCH_TOP ? s->n_cand : SEARCH_TOP;
    float best = 1e30f;
    char d[96], label[16];
    for (int i = 0; i < nt; i++) {
        s->o.algo = &s->cand[i].algo;
        const float us = time_lt_try(s->c, &s->o, &s->tm, normal_iters(s->c), 1e30f);
        if (us >= 0 && us < best) best = us;
        algo_desc(&s->cand[i].algo, d, sizeof d);
        snprintf(label, sizeof label, "#%d", i + 1);
        print_time(s->c, label, us);
        printf("  waves %5.2f  %s (quick %.1f us)\n", s->cand[i].waves, d, s->cand[i].us);
    }
    return best;
}

/* Search mode for one row count: baselines, the three passes, the best. */
static void search_row(const Ctx *c) {
    Search s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.cand = (Cand *)malloc(SEARCH_MAX_TIMED * sizeof *s.cand);
    CK(cudaEventCreate(&s.tm.a));
    CK(cudaEventCreate(&s.tm.b));
    lt_op_create(&s.o, c->s, c->rows);
    printf("%s, %d rows (n %d, k %d):\n", c->s->name, c->rows, c->s->n, c->s->k);
    const float t_ex = c->s->out != OUT_RES ? time_it(c, normal_iters(c), run_gemmex, NULL) : -1;
    if (t_ex >= 0) {
        print_time(c, "gemmex", t_ex);
        printf("\n");
    }
    cublasLtMatmulHeuristicResult_t hr[1];
    char d1[96] = "-";
    float t1 = -1;
    if (lt_heuristic(&s.o, hr, 1) > 0 && hr[0].state == CUBLAS_STATUS_SUCCESS) {
        s.o.algo = &hr[0].algo;
        t1 = time_lt_try(c, &s.o, &s.tm, normal_iters(c), 1e30f);
        algo_desc(&hr[0].algo, d1, sizeof d1);
    }
    print_time(c, "lt1", t1);
    printf("  %s\n", d1);
    s.give_up_us = t1 > 0 ? 2 * t1 : 1e30f;
    search_pass_ids(&s);
    search_pass_splitk(&s);
    search_pass_refine(&s);
    printf("  total: tried %d (limit %d), valid %d, timed %d (limit %d); best %d re-timed:\n", s.checked,
           SEARCH_MAX_CHECKED, s.valid, s.n_cand, SEARCH_MAX_TIMED, s.n_cand < SEARCH_TOP ? s.n_cand : SEARCH_TOP);
    const float best = search_report_top(&s);
    if (best < 1e30f && t1 > 0) printf("  best vs lt1: %.3fx", t1 / best);
    if (best < 1e30f && t_ex > 0) printf(", vs gemmex: %.3fx", t_ex / best);
    printf("\n");
    fflush(stdout);
    lt_op_destroy(&s.o);
    CK(cudaEventDestroy(s.tm.a));
    CK(cudaEventDestroy(s.tm.b));
    free(s.cand);
}

int main(int argc, char **argv) {
    const enum Mode mode = argc > 1 && strcmp(argv[1], "--search") == 0 ? MODE_SEARCH : MODE_TABLE;
    const int a0 = mode == MODE_SEARCH ? 2 : 1; /* first positional argument */
    int rows_list[32], n_rows = 0;
    const char *rl = argc > a0 ? argv[a0] : "64,128,256,384,512,768,1024";
    for (const char *p = rl; *p;) {
        rows_list[n_rows++] = atoi(p);
        while (*p && *p != ',') p++;
        if (*p == ',') p++;
        if (n_rows == 32) break;
    }
    int hid = 4096, inter = 14336, qkv = 6144, vocab = 128256;
    if (argc > a0 + 4)
        hid = atoi(argv[a0 + 1]), inter = atoi(argv[a0 + 2]), qkv = atoi(argv[a0 + 3]), vocab = atoi(argv[a0 + 4]);
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
    if (mode == MODE_TABLE)
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
            if (mode == MODE_SEARCH)
                search_row(&c);
            else
                table_row(&c);
        }
        for (int i = 0; i < nc; i++) CK(cudaFree(c.w[i]));
        free(c.w);
        CK(cudaFree(c.x));
        CK(cudaFree(c.out));
        CK(cudaFree(c.res));
    }
    if (mode == MODE_TABLE)
        printf("times in us per product (weights rotated over copies > 256 MB); GB/s = weight bytes / best time\n");
    else
        printf("times in us per product (weights rotated over copies > 256 MB); GB/s = weight bytes / time\n");
    return 0;
}
