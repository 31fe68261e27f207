/* lab_main.cu - the kernel lab's harness (tests/gpu/run_lab.sh builds it).
 *
 * For every case of lab-src/lab_cases.h (rendered by render_kernels from
 * tests/gpu/lab.lua): fresh random inputs (xorshift, seed printed), outputs
 * poisoned with NaN, the cpu template's kernel (reference, float32, run on
 * the host thread pool) and the cuda template's kernel on the same node,
 * then
 *   - err = ||out - ref|| / ||ref|| over the node's columns, against the
 *     case's tolerance: 0 for copies/conversions/adds (bit-exact), 2e-6 for
 *     one libm call per element (expf, sinf/cosf: device and host differ by
 *     a few ulp), 2e-6 for rmsnorm (double sum of squares both sides),
 *     1e-5 for float32 dot products in another order (matmul, attention:
 *     typical error ~1e-7 for these K, so 1e-5 flags real bugs, not
 *     rounding);
 *   - every output element inside the columns was written (no NaN left) and
 *     nothing between cols and the row stride was (poison still there);
 *   - attention: both KV pools equal bit for bit afterwards.
 * Then, for cases marked timed: a CUDA graph of 20 back-to-back launches
 * (as the engine replays them), median of 21 replays / 20 = "us"; also the
 * median of 30 single launches between events ("us (single)", which adds
 * the event/launch overhead, ~5 us here); matmul weights rotate over copies
 * totalling >= 3x L2 so the GEMV reads HBM; achieved GB/s (bytes read +
 * written, from "us") and the ratio to the device-to-device cudaMemcpy
 * bandwidth measured at start (2 x bytes / time, 1 GiB).
 * Finally gpu_sample against the host sampler (runtime/sample/sampler.c):
 * every option of the rule, with and without a penalty table and logprobs,
 * and gpu_sample_greedy; timed for a greedy, a top-p and a penalties +
 * 20-logprobs row.
 * Prints "N passed, M failed"; exit status 1 on any failure.
 */
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include "base/program.h"
#include "base/threadpool.h"
#include "sample/sampler.h"
}
#include "gpu/cuda_ctx.h"
#include "gpu/gemm.h"
#include "gpu/gpu_sample.h"

/* The bf16 hand-off cases (lab.lua: yb / xb): float32 rows -> bf16 rows of
 * stride k (round to nearest even, as _px rounds), and a projection's bf16
 * output rows (stride n, at y) -> float32 rows of stride ys, through tmp. */
__global__ void lab_to_bf16_k(const float *x, int xs, __nv_bfloat16 *d, int rows, int k) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (long)rows * k; i += (long)gridDim.x * blockDim.x)
        d[i] = __float2bfloat16_rn(x[(i / k) * xs + i % k]);
}
__global__ void lab_widen_k(const __nv_bfloat16 *t, float *y, int ys, int rows, int n) {
    for (long i = blockIdx.x * (long)blockDim.x + threadIdx.x; i < (long)rows * n; i += (long)gridDim.x * blockDim.x)
        y[(i / n) * ys + i % n] = __bfloat162float(t[i]);
}
void lab_rows_to_bf16(const LlmCudaCtx *c, const float *x, int xs, void *dst, int rows, int k) {
    lab_to_bf16_k<<<256, 256, 0, (cudaStream_t)c->stream>>>(x, xs, (__nv_bfloat16 *)dst, rows, k);
}
void lab_rows_widen(const LlmCudaCtx *c, float *y, int ys, void *tmp, int rows, int n) {
    cudaMemcpyAsync(tmp, y, (size_t)rows * n * 2, cudaMemcpyDeviceToDevice, (cudaStream_t)c->stream);
    lab_widen_k<<<256, 256, 0, (cudaStream_t)c->stream>>>((const __nv_bfloat16 *)tmp, y, ys, rows, n);
}

typedef void (*LabCpuFn)(const LlmForwardCtx *, const LlmBatch *, int, const float *, const float *, const float *,
                         float *, const void *, const void *, const void *, void *);
typedef void (*LabCudaFn)(const LlmCudaCtx *, int, int, int, const float *, const float *, const float *, float *,
                          const void *, const void *, const void *, void *);
#define LAB_DECL(i)                                                                                              \
    extern "C" void lab_cpu_##i(const LlmForwardCtx *, const LlmBatch *, int, const float *, const float *,     \
                                const float *, float *, const void *, const void *, const void *, void *);       \
    void lab_cuda_##i(const LlmCudaCtx *, int, int, int, const float *, const float *, const float *, float *,   \
                      const void *, const void *, const void *, void *);

enum { OP_EMBED, OP_RMSNORM, OP_MATMUL, OP_MATMUL_SWIGLU, OP_ADD, OP_SWIGLU, OP_ROPE, OP_ATTENTION, OP_SELECT,
       OP_ADD_RMSNORM, OP_NORM_MATMUL, OP_NORM_MATMUL_SWIGLU, OP_MATMUL_ADD };
static const char *OP_NAMES[] = {"embed", "rmsnorm", "matmul", "matmul_swiglu", "add", "swiglu", "rope", "attention",
                                 "select_rows", "add_rmsnorm", "norm_matmul", "norm_matmul_swiglu", "matmul_add"};
static bool is_proj(int op) {
    return op == OP_MATMUL || op == OP_MATMUL_SWIGLU || op == OP_NORM_MATMUL || op == OP_NORM_MATMUL_SWIGLU ||
           op == OP_MATMUL_ADD;
}
static bool has_norm(int op) { return op == OP_NORM_MATMUL || op == OP_NORM_MATMUL_SWIGLU; }

typedef struct LabCase {
    const char *name;
    int op, dtype, T, L, rows_is_L, cols, out_stride, n_in;
    int in_cols[3], in_stride[3];
    int wrows, wcols, has_bias;
    int heads, kv_heads, head_dim, block_size, max_blocks, ctx, prefill, layer, time_it, n_layers;
    double tol;
    LabCpuFn cpu;
    LabCudaFn cuda;
} LabCase;

#include "lab_cases.h"

#define CK(x)                                                                                 \
    do {                                                                                      \
        cudaError_t e_ = (x);                                                                 \
        if (e_ != cudaSuccess) {                                                              \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_)); \
            exit(2);                                                                          \
        }                                                                                     \
    } while (0)

static uint64_t g_rng;
static uint64_t rnd_u64() {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
static float rnd_unit() { return (float)((rnd_u64() >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f; } /* [-1, 1) */
static int rnd_int(int n) { return (int)(rnd_u64() % (uint64_t)n); }

static uint16_t f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}
static uint16_t f32_to_f16(float f) {
    __half h = __float2half_rn(f);
    uint16_t u;
    memcpy(&u, &h, 2);
    return u;
}

static size_t dsize(int dt) { return dt == 0 ? 4 : 2; }

static void fill_weights(std::vector<uint8_t> &w, int dt, size_t n, float scale) {
    w.resize(n * dsize(dt));
    for (size_t i = 0; i < n; i++) {
        float v = rnd_unit() * scale;
        if (dt == 0) memcpy(&w[i * 4], &v, 4);
        else {
            uint16_t h = dt == 1 ? f32_to_bf16(v) : f32_to_f16(v);
            memcpy(&w[i * 2], &h, 2);
        }
    }
}

template <typename T> static T *dev_copy(const std::vector<T> &h) {
    T *d = nullptr;
    CK(cudaMalloc(&d, std::max<size_t>(1, h.size() * sizeof(T))));
    if (!h.empty()) CK(cudaMemcpy(d, h.data(), h.size() * sizeof(T), cudaMemcpyHostToDevice));
    return d;
}

static double g_copy_gbs;
static int g_pass, g_fail;
struct TimeRow {
    const char *name, *op;
    double us, gbs, frac, us_single;
};
static std::vector<TimeRow> g_times;

static float median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

static void measure_copy() {
    size_t bytes = (size_t)1 << 30;
    void *a, *b;
    CK(cudaMalloc(&a, bytes));
    CK(cudaMalloc(&b, bytes));
    CK(cudaMemset(a, 1, bytes));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    std::vector<float> ts;
    for (int i = 0; i < 13; i++) {
        CK(cudaEventRecord(e0));
        CK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice));
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        if (i >= 3) ts.push_back(ms);
    }
    g_copy_gbs = 2.0 * (double)bytes / (median(ts) * 1e-3) / 1e9;
    printf("device-to-device copy: %.1f GB/s (read + write, 1 GiB, median of 10)\n", g_copy_gbs);
    CK(cudaFree(a));
    CK(cudaFree(b));
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
}

static LlmThreadPool *g_pool;

static int run_case(const LabCase *c, int idx, uint64_t seed) {
    g_rng = seed;
    const int T = c->T, L = c->L;
    const int rows = c->rows_is_L ? L : T;
    const int in_rows = c->op == OP_SELECT ? T : rows;
    /* batch metadata */
    std::vector<int32_t> tokens(T), positions(T), seq_index(T), logit_rows(L);
    int n_seqs = 1;
    for (int t = 0; t < T; t++) tokens[t] = rnd_int(c->wrows > 1 && c->op == OP_EMBED ? c->wrows : 1000);
    if (c->op == OP_ATTENTION) {
        if (c->prefill == 1) {
            for (int t = 0; t < T; t++) positions[t] = c->ctx - T + t, seq_index[t] = 0;
        } else if (c->prefill == 2) {
            /* a serving step: decode tokens (one sequence each) between prompt
             * chunks of random lengths, some starting at 0, some continuing a
             * prompt (positions up to ctx - 1) */
            n_seqs = 0;
            for (int t = 0; t < T; n_seqs++) {
                int len = rnd_int(3) == 0 ? 1 + rnd_int(std::min(T - t, c->ctx)) : 1;
                int start = rnd_int(2) == 0 ? 0 : rnd_int(c->ctx - len + 1);
                if (len == 1) start = rnd_int(c->ctx);
                for (int j = 0; j < len; j++, t++) positions[t] = start + j, seq_index[t] = n_seqs;
            }
        } else {
            n_seqs = T;
            for (int t = 0; t < T; t++) positions[t] = t == 0 ? c->ctx - 1 : rnd_int(c->ctx), seq_index[t] = t;
        }
    } else {
        for (int t = 0; t < T; t++) positions[t] = rnd_int(8192), seq_index[t] = 0;
    }
    { /* L distinct rows, ascending */
        std::vector<int> perm(T);
        for (int t = 0; t < T; t++) perm[t] = t;
        for (int t = T - 1; t > 0; t--) std::swap(perm[t], perm[rnd_int(t + 1)]);
        std::sort(perm.begin(), perm.begin() + L);
        for (int l = 0; l < L; l++) logit_rows[l] = perm[l];
    }
    const int mb = std::max(1, c->max_blocks);
    const int n_blocks = c->op == OP_ATTENTION ? n_seqs * mb : 1;
    std::vector<int32_t> block_tables((size_t)n_seqs * mb);
    {
        std::vector<int32_t> perm(n_blocks);
        for (int i = 0; i < n_blocks; i++) perm[i] = i;
        for (int i = n_blocks - 1; i > 0; i--) std::swap(perm[i], perm[rnd_int(i + 1)]);
        for (size_t i = 0; i < block_tables.size(); i++) block_tables[i] = perm[i % n_blocks];
    }
    /* inputs, weights */
    std::vector<std::vector<float>> xin(3);
    for (int i = 0; i < c->n_in; i++) {
        xin[i].resize((size_t)in_rows * c->in_stride[i]);
        for (auto &v : xin[i]) v = rnd_unit() * (c->op == OP_ROPE || c->op == OP_ATTENTION ? 1.0f : 2.0f);
    }
    /* weight slots in the op's order: [gain,] matrix [, bias] for the
     * projections; the gain alone for the norms; the table for embed */
    std::vector<uint8_t> wmat;
    std::vector<float> wgain, wbias;
    if (is_proj(c->op) || c->op == OP_EMBED)
        fill_weights(wmat, c->dtype, (size_t)c->wrows * c->wcols, c->op == OP_EMBED ? 1.0f : 1.0f / sqrtf((float)c->wcols));
    if (c->op == OP_RMSNORM || c->op == OP_ADD_RMSNORM || has_norm(c->op)) {
        wgain.resize(c->wcols);
        for (auto &v : wgain) v = rnd_unit();
    }
    if (c->has_bias) {
        wbias.resize(c->cols);
        for (auto &v : wbias) v = rnd_unit();
    }
    int mat_slot = -1;
    const void *hslot[3] = {nullptr, nullptr, nullptr};
    {
        int k = 0;
        if (!wgain.empty()) hslot[k++] = wgain.data();
        if (!wmat.empty()) mat_slot = k, hslot[k++] = wmat.data();
        if (!wbias.empty()) hslot[k++] = wbias.data();
    }
    /* scratch as the IR sizes it (ir_scratch_row_bytes: K + 2 x rows of W
     * floats per row), max_tokens rows (lab.lua: max(64, T)) */
    const size_t scratch_bytes = (size_t)(T > 64 ? T : 64) * ((size_t)c->wcols + 2 * (size_t)c->wrows) * 4;
    std::vector<uint8_t> hscratch(scratch_bytes);
    const int kvdim = c->kv_heads * c->head_dim;
    const size_t kv_elems = c->op == OP_ATTENTION ? (size_t)2 * n_blocks * c->block_size * kvdim : 2;
    /* attention cases with dtype bf16 use a bf16 KV cache (--kv-dtype bf16):
     * pools held as 32-bit words, one float32 or two bf16 each */
    const bool kvbf = c->op == OP_ATTENTION && c->dtype == 1;
    const size_t kv_words = kvbf ? kv_elems / 2 : kv_elems, kv_esz = kvbf ? 2 : 4;
    std::vector<uint32_t> K(kv_words), V(kv_words);
    for (auto *pool : {&K, &V})
        for (auto &w : *pool) {
            if (!kvbf) {
                float f = rnd_unit();
                memcpy(&w, &f, 4);
            } else {
                float a = rnd_unit(), b2 = rnd_unit();
                uint32_t ua, ub;
                memcpy(&ua, &a, 4);
                memcpy(&ub, &b2, 4);
                w = (ua >> 16) | (ub & 0xffff0000u); /* two bf16 (truncated: any bf16 values will do) */
            }
        }
    const float NaN = nanf("");
    std::vector<float> y_ref((size_t)rows * c->out_stride, NaN), y_gpu(y_ref.size());
    /* cpu reference */
    std::vector<uint32_t> Kr = K, Vr = V;
    LlmBatch b = {T, tokens.data(), positions.data(), seq_index.data(), n_seqs, block_tables.data(), L,
                  logit_rows.data(), nullptr};
    LlmForwardCtx ctx = {nullptr, nullptr, {Kr.data(), Vr.data(), n_blocks}, g_pool};
    c->cpu(&ctx, &b, c->layer, c->n_in > 0 ? xin[0].data() : nullptr, c->n_in > 1 ? xin[1].data() : nullptr,
           c->n_in > 2 ? xin[2].data() : nullptr, y_ref.data(), hslot[0], hslot[1], hslot[2], hscratch.data());
    /* device */
    int32_t *d_tok = dev_copy(tokens), *d_pos = dev_copy(positions), *d_seq = dev_copy(seq_index),
            *d_bt = dev_copy(block_tables), *d_sel = dev_copy(logit_rows);
    float *d_x[3] = {nullptr, nullptr, nullptr};
    for (int i = 0; i < c->n_in; i++) d_x[i] = dev_copy(xin[i]);
    uint8_t *d_mat = wmat.empty() ? nullptr : dev_copy(wmat);
    float *d_gain = wgain.empty() ? nullptr : dev_copy(wgain), *d_bias = wbias.empty() ? nullptr : dev_copy(wbias);
    const void *dslot[3] = {nullptr, nullptr, nullptr};
    {
        int k = 0;
        if (d_gain) dslot[k++] = d_gain;
        if (d_mat) dslot[k++] = d_mat;
        if (d_bias) dslot[k++] = d_bias;
    }
    uint32_t *d_K = dev_copy(K), *d_V = dev_copy(V);
    std::vector<float> poison(y_ref.size(), NaN);
    float *d_y = dev_copy(poison);
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    void *blas = nullptr, *blas_ws = nullptr;
    int blas_status = 0;
    char blas_msg[256];
    CK(cudaMalloc(&blas_ws, (size_t)32 << 20));
    if (llm_gpu_blas_create(st, blas_ws, (size_t)32 << 20, &blas, blas_msg, sizeof blas_msg) != 0) {
        fprintf(stderr, "%s\n", blas_msg);
        exit(2);
    }
    LlmCudaCtx cc = {st, d_tok, d_pos, d_seq, d_bt, d_sel, nullptr, d_K, d_V, n_blocks, n_seqs, sms, blas, &blas_status};
    void *d_scratch = nullptr;
    CK(cudaMalloc(&d_scratch, scratch_bytes));
    /* one launch with the matrix slot replaced by wm (weight rotation) */
    auto launch = [&](const LlmCudaCtx *cx, const void *wm) {
        const void *sl[3] = {dslot[0], dslot[1], dslot[2]};
        if (mat_slot >= 0) sl[mat_slot] = wm;
        c->cuda(cx, T, L, c->layer, d_x[0], d_x[1], d_x[2], d_y, sl[0], sl[1], sl[2], d_scratch);
    };
    launch(&cc, d_mat);
    CK(cudaGetLastError());
    CK(cudaStreamSynchronize(st));
    CK(cudaMemcpy(y_gpu.data(), d_y, y_gpu.size() * 4, cudaMemcpyDeviceToHost));
    /* compare */
    double num = 0, den = 0;
    long unwritten = 0, overwritten = 0;
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < c->out_stride; j++) {
            float g = y_gpu[(size_t)r * c->out_stride + j], f = y_ref[(size_t)r * c->out_stride + j];
            if (j < c->cols) {
                if (std::isnan(g)) unwritten++;
                else num += ((double)g - f) * ((double)g - f), den += (double)f * f;
            } else if (!std::isnan(g)) overwritten++;
        }
    double err = den > 0 ? sqrt(num / den) : sqrt(num);
    long kv_diff = 0;
    if (c->op == OP_ATTENTION) {
        std::vector<uint32_t> Kg(kv_words), Vg(kv_words);
        CK(cudaMemcpy(Kg.data(), d_K, kv_words * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(Vg.data(), d_V, kv_words * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < kv_words; i++) kv_diff += (Kg[i] != Kr[i]) + (Vg[i] != Vr[i]);
    }
    bool ok = err <= c->tol && unwritten == 0 && overwritten == 0 && kv_diff == 0 && std::isfinite(err);
    printf("%-4s case %2d %-22s %-13s T=%-3d L=%-2d err %.2e (tol %.0e)%s%s%s\n", ok ? "ok" : "FAIL", idx, c->name,
           OP_NAMES[c->op], T, L, err, c->tol, unwritten ? " UNWRITTEN" : "", overwritten ? " OUT-OF-COLS-WRITE" : "",
           kv_diff ? " KV-MISMATCH" : "");
    ok ? g_pass++ : g_fail++;
    /* timing */
    if (ok && c->time_it) {
        size_t wbytes = wmat.size();
        int nrot = 1;
        std::vector<uint8_t *> wrot(1, d_mat);
        if (is_proj(c->op) && wbytes > 0) {
            int l2 = 0;
            CK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
            nrot = (int)std::min<size_t>(16, (3 * (size_t)l2 + wbytes - 1) / wbytes);
            for (int i = 1; i < nrot; i++) {
                uint8_t *p;
                CK(cudaMalloc(&p, wbytes));
                CK(cudaMemcpy(p, d_mat, wbytes, cudaMemcpyDeviceToDevice));
                wrot.push_back(p);
            }
        }
        cudaEvent_t e0, e1;
        CK(cudaEventCreate(&e0));
        CK(cudaEventCreate(&e1));
        std::vector<float> ts, tg;
        for (int it = 0; it < 5 + 30; it++) { /* single launches */
            CK(cudaEventRecord(e0, st));
            launch(&cc, wrot[it % nrot]);
            CK(cudaEventRecord(e1, st));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (it >= 5) ts.push_back(ms);
        }
        /* a captured graph of 20 back-to-back launches (as the engine runs
         * them; also proves the launcher is capturable) */
        const int NG = 20;
        cudaGraph_t graph;
        cudaGraphExec_t exec;
        CK(cudaStreamBeginCapture(st, cudaStreamCaptureModeGlobal));
        for (int it = 0; it < NG; it++) launch(&cc, wrot[it % nrot]);
        CK(cudaStreamEndCapture(st, &graph));
        CK(cudaGraphInstantiate(&exec, graph, 0));
        for (int it = 0; it < 3 + 21; it++) {
            CK(cudaEventRecord(e0, st));
            CK(cudaGraphLaunch(exec, st));
            CK(cudaEventRecord(e1, st));
            CK(cudaEventSynchronize(e1));
            float ms;
            CK(cudaEventElapsedTime(&ms, e0, e1));
            if (it >= 3) tg.push_back(ms / NG);
        }
        CK(cudaGraphExecDestroy(exec));
        CK(cudaGraphDestroy(graph));
        const double us_single = median(ts) * 1e3;
        double us = median(tg) * 1e3;
        double bytes = 0;
        size_t in_bytes = 0;
        for (int i = 0; i < c->n_in; i++) in_bytes += (size_t)in_rows * c->in_cols[i] * 4;
        size_t out_bytes = (size_t)rows * c->cols * 4;
        if (c->op == OP_ATTENTION) {
            double kv = 0;
            for (int t = 0; t < T; t++) kv += (double)(positions[t] + 1) * kvdim * kv_esz * 2;
            bytes = kv + in_bytes + out_bytes + (double)T * kvdim * kv_esz * 2;
        } else if (c->op == OP_EMBED) {
            bytes = (double)T * c->wcols * dsize(c->dtype) + out_bytes;
        } else {
            bytes = (double)wbytes + (wbias.size() + wgain.size()) * 4 + in_bytes + out_bytes;
        }
        double gbs = bytes / (us * 1e-6) / 1e9;
        g_times.push_back({c->name, OP_NAMES[c->op], us, gbs, gbs / g_copy_gbs, us_single});
        for (int i = 1; i < nrot; i++) CK(cudaFree(wrot[i]));
        CK(cudaEventDestroy(e0));
        CK(cudaEventDestroy(e1));
    }
    if (blas_status != 0) {
        printf("FAIL case %d: cuBLAS status %d\n", idx, blas_status);
        g_fail++;
    }
    llm_gpu_blas_destroy(blas);
    CK(cudaFree(blas_ws));
    CK(cudaStreamDestroy(st));
    for (void *p : std::vector<void *>{d_tok, d_pos, d_seq, d_bt, d_sel, d_x[0], d_x[1], d_x[2], d_mat, d_gain, d_bias,
                                       d_K, d_V, d_y, d_scratch})
        if (p) CK(cudaFree(p));
    return ok;
}

/* ---- gpu_sample against the host sampler ---------------------------------
 * The reference is the host rule itself (runtime/sample/sampler.c,
 * sampler_pick, compiled with gcc): every row's id must be equal; for rows
 * with logprobs, the chosen id, n_top and top ids must be equal and every
 * logprob within 1e-5 * max(1, |host|) (expf differs by a few ulp between
 * device and host, and the float result of values near -30 has ulp 2e-6),
 * -inf exactly. A sampled id can legitimately differ only when u or a
 * min-p weight falls within ~1e-7 of a boundary (gpu_sample.h). */
struct SampleCase {
    float t;
    int k;
    float p, min_p, rep, pres, freq;
    int pen;  /* 1: the row gets a penalty list */
    int lp;   /* -1: no logprobs; else top_logprobs */
    int fill; /* 0 random logits; 1 one +inf; 2 -0 pair; 3 all NaN */
};

static const SampleCase SAMPLE_CASES[] = {
    {0.0f, 0, 1.0f, 0, 1, 0, 0, 0, -1, 0},     {1.0f, 0, 1.0f, 0, 1, 0, 0, 0, -1, 0},
    {0.7f, 40, 1.0f, 0, 1, 0, 0, 0, -1, 0},    {1.0f, 0, 0.9f, 0, 1, 0, 0, 0, -1, 0},
    {0.8f, 50, 0.95f, 0, 1, 0, 0, 0, -1, 0},   {1.3f, 1, 1.0f, 0, 1, 0, 0, 0, -1, 0},
    {0.0f, 0, 1.0f, 0, 1, 0, 0, 0, -1, 1},     {2.0f, 100, 0.5f, 0, 1, 0, 0, 0, -1, 0},
    {1.0f, 0, 0.999f, 0, 1, 0, 0, 0, -1, 0},   {0.5f, 3, 1.0f, 0, 1, 0, 0, 0, -1, 2},
    /* min-p: unsorted, high, with top-p (sorted), with top-k, 1 (ties at the max) */
    {1.0f, 0, 1.0f, 0.1f, 1, 0, 0, 0, -1, 0},  {0.7f, 0, 1.0f, 0.5f, 1, 0, 0, 0, -1, 0},
    {1.0f, 0, 0.9f, 0.05f, 1, 0, 0, 0, -1, 0}, {1.0f, 20, 1.0f, 0.3f, 1, 0, 0, 0, -1, 0},
    {1.0f, 0, 1.0f, 1.0f, 1, 0, 0, 0, -1, 0},  {1.0f, 0, 1.0f, 0.2f, 1, 0, 0, 0, -1, 1},
    /* penalties: greedy, repetition < 1 with presence/frequency, sampled, everything */
    {0.0f, 0, 1.0f, 0, 1.5f, 0, 0, 1, -1, 0},  {0.0f, 0, 1.0f, 0, 0.7f, 0.5f, 0.3f, 1, -1, 0},
    {1.0f, 0, 1.0f, 0, 1.3f, -0.5f, 0.8f, 1, -1, 0},
    {0.8f, 40, 0.9f, 0.05f, 1.2f, 1.0f, 0.5f, 1, -1, 0},
    {0.0f, 0, 1.0f, 0, 1.0f, 2.0f, -2.0f, 1, -1, 2},
    /* logprobs: greedy, sampled top 20, everything + chosen only, greedy with
     * all penalties top 20, sampled with a penalty, an infinity and top 20
     * (row 25, timed), all NaN (sampled and greedy) */
    {0.0f, 0, 1.0f, 0, 1, 0, 0, 0, 5, 0},      {1.0f, 0, 1.0f, 0, 1, 0, 0, 0, 20, 0},
    {0.9f, 10, 0.8f, 0.02f, 1.1f, 0.3f, 0.2f, 1, 0, 0},
    {0.0f, 0, 1.0f, 0, 2.0f, 2.0f, 2.0f, 1, 20, 0},
    {1.0f, 0, 0.95f, 0, 1.2f, 0, 0, 1, 20, 1}, {1.0f, 0, 1.0f, 0, 1.2f, 0, 0.5f, 1, 3, 3},
    {0.0f, 0, 1.0f, 0, 1, 0, 0, 0, 3, 3},
};
static const int N_SAMPLE_CASES = (int)(sizeof SAMPLE_CASES / sizeof SAMPLE_CASES[0]);

/* Logits per the case's fill: values in [-8, 8), two tied at 9, one NaN. */
static void sample_fill(float *row, int V, const SampleCase &c, int *tie_a, int *tie_b) {
    for (int i = 0; i < V; i++) row[i] = rnd_unit() * 8.0f;
    *tie_a = rnd_int(V);
    *tie_b = rnd_int(V);
    row[*tie_a] = row[*tie_b] = 9.0f;
    row[rnd_int(V)] = nanf("");
    if (c.fill == 1) row[rnd_int(V)] = INFINITY;
    if (c.fill == 2 && V > 2) row[0] = row[1] = -0.0f;
    if (c.fill == 3)
        for (int i = 0; i < V; i++) row[i] = nanf("");
}

/* A penalty list: distinct ids (the tied maxima first, so penalties move the
 * winner), random counts 0..4 (0 = prompt only). */
static void sample_list(int V, int tie_a, int tie_b, std::vector<LlmTokenCount> &table) {
    const int want = std::min(V, 2 + rnd_int(400));
    std::vector<char> used((size_t)V, 0);
    const int first[2] = {tie_a, tie_b};
    for (int j = 0, n = 0; n < want && j < 4 * want + 2; j++) {
        const int id = j < 2 ? first[j] : rnd_int(V);
        if (used[(size_t)id]) continue;
        used[(size_t)id] = 1;
        table.push_back(LlmTokenCount{id, rnd_int(5)});
        n++;
    }
}

static bool lp_close(float got, float want) {
    if (std::isinf(want) || std::isinf(got)) return got == want;
    return std::fabs((double)got - (double)want) <= 1e-5 * std::max(1.0, std::fabs((double)want));
}

/* Compares one row's logprobs; prints the first difference. */
static bool lp_equal(const LlmTokenLogprobs &g, const LlmTokenLogprobs &w, int V, int r) {
    bool ok = g.id == w.id && g.n_top == w.n_top && lp_close(g.logprob, w.logprob);
    for (int j = 0; ok && j < w.n_top; j++)
        ok = g.top_ids[j] == w.top_ids[j] && lp_close(g.top_logprobs[j], w.top_logprobs[j]);
    if (!ok)
        printf("     logprobs V=%d row %d: got id %d lp %.7g n_top %d, want id %d lp %.7g n_top %d\n", V, r, g.id,
               g.logprob, g.n_top, w.id, w.logprob, w.n_top);
    return ok;
}

struct SampleBatchHost {
    std::vector<float> lg;
    std::vector<LlmSampleRow> rows;
    std::vector<LlmTokenCount> table;
};

static SampleBatchHost sample_inputs(int V) {
    SampleBatchHost h;
    const int R = N_SAMPLE_CASES;
    h.lg.resize((size_t)R * V);
    for (int r = 0; r < R; r++) {
        const SampleCase &c = SAMPLE_CASES[r];
        int ta = 0, tb = 0;
        sample_fill(&h.lg[(size_t)r * V], V, c, &ta, &tb);
        LlmSampleRow row = {};
        row.temperature = c.t, row.top_k = c.k, row.top_p = c.p, row.min_p = c.min_p;
        row.repetition_penalty = c.rep, row.presence_penalty = c.pres, row.frequency_penalty = c.freq;
        row.logprobs = c.lp >= 0, row.top_logprobs = c.lp > 0 ? c.lp : 0;
        row.uniform = r == 0 ? 0.0 : (double)((rnd_u64() >> 40) * (1.0 / 16777216.0));
        if (c.pen) {
            row.counts_offset = (int32_t)h.table.size();
            sample_list(V, ta, tb, h.table);
            row.n_counts = (int32_t)h.table.size() - row.counts_offset;
        }
        h.rows.push_back(row);
    }
    return h;
}

/* Runs gpu_sample (or gpu_sample_greedy) on the device copies and checks
 * against sampler_pick row by row; with_table / with_lp off pass NULL (the
 * host gets NULL too). Returns the number of bad rows. */
static int sample_check(const SampleBatchHost &h, int V, GpuSampleBatch b, void *scratch, bool greedy_path,
                        bool with_table, bool with_lp, const char *what) {
    const int R = (int)h.rows.size();
    if (!with_table) b.counts = nullptr;
    if (!with_lp) b.out_logprobs = nullptr;
    const int rc = (greedy_path ? gpu_sample_greedy : gpu_sample)(nullptr, &b, scratch);
    CK(cudaDeviceSynchronize());
    std::vector<int32_t> out(R);
    std::vector<LlmTokenLogprobs> lp(R);
    CK(cudaMemcpy(out.data(), b.out_ids, R * 4, cudaMemcpyDeviceToHost));
    if (with_lp) CK(cudaMemcpy(lp.data(), b.out_logprobs, R * sizeof(LlmTokenLogprobs), cudaMemcpyDeviceToHost));
    std::vector<SampleCandidate> cands(V);
    int bad = rc != 0;
    for (int r = 0; r < R; r++) {
        const LlmSampleRow &p = h.rows[r];
        LlmTokenLogprobs want = {};
        const int32_t id = sampler_pick(&p, with_table ? h.table.data() : nullptr, &h.lg[(size_t)r * V], V,
                                        cands.data(), with_lp ? &want : nullptr);
        bool ok = id == out[r];
        if (!ok)
            printf("     %s V=%d row %d (t %.2f k %d p %.3f min-p %.2f rep %.2f pres %.2f freq %.2f n %d u %.4f): "
                   "got %d want %d\n", what, V, r, p.temperature, p.top_k, p.top_p, p.min_p, p.repetition_penalty,
                   p.presence_penalty, p.frequency_penalty, p.n_counts, p.uniform, out[r], id);
        if (with_lp && p.logprobs && !lp_equal(lp[r], want, V, r)) ok = false;
        bad += !ok;
    }
    printf("%-4s %s V=%-6d %d rows\n", bad ? "FAIL" : "ok", what, V, R);
    bad ? g_fail++ : g_pass++;
    return bad;
}

/* Median time of one gpu_sample call on row r alone (25 calls, 5 warm-up). */
static double sample_time(GpuSampleBatch b, int r, int V, void *scratch, bool greedy_path) {
    b.logits += (size_t)r * V;
    b.rows += r;
    b.n_rows = 1;
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    std::vector<float> ts;
    for (int it = 0; it < 25; it++) {
        CK(cudaEventRecord(e0));
        (greedy_path ? gpu_sample_greedy : gpu_sample)(nullptr, &b, scratch);
        CK(cudaEventRecord(e1));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        if (it >= 5) ts.push_back(ms);
    }
    CK(cudaEventDestroy(e0));
    CK(cudaEventDestroy(e1));
    return median(ts) * 1e3;
}

static void test_sample(uint64_t seed) {
    const int vocabs[] = {152064, 128256, 1000, 7};
    for (int vi = 0; vi < 4; vi++) {
        const int V = vocabs[vi];
        g_rng = seed + vi;
        SampleBatchHost h = sample_inputs(V);
        const int R = (int)h.rows.size();
        GpuSampleBatch b = {};
        b.logits = dev_copy(h.lg);
        b.n_rows = R;
        b.vocab = V;
        b.rows = dev_copy(h.rows);
        b.counts = dev_copy(h.table);
        CK(cudaMalloc(&b.out_ids, R * 4));
        CK(cudaMalloc(&b.out_logprobs, R * sizeof(LlmTokenLogprobs)));
        void *scratch;
        CK(cudaMalloc(&scratch, gpu_sample_scratch_bytes(R, V)));
        int bad = sample_check(h, V, b, scratch, false, true, true,
                               "gpu_sample (greedy, temperature, top-k, top-p, min-p, penalties, logprobs)");
        bad += sample_check(h, V, b, scratch, false, false, false, "gpu_sample, no table, no logprobs");
        { /* the greedy-only path on the same logits, every row plain greedy */
            SampleBatchHost g = h;
            for (auto &row : g.rows) row = LlmSampleRow{0.0f, 0, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0, 0, 0, 0, 0.0};
            GpuSampleBatch gb = b;
            gb.rows = dev_copy(g.rows);
            sample_check(g, V, gb, scratch, true, false, false, "gpu_sample_greedy (ties, NaN, inf, -0)");
            CK(cudaFree((void *)gb.rows));
        }
        if (V == 128256 && !bad) { /* time: a greedy row, a top-p row, penalties + 20 logprobs */
            const double us[3] = {sample_time(b, 0, V, scratch, true), sample_time(b, 3, V, scratch, false),
                                  sample_time(b, 25, V, scratch, false)};
            const char *names[3] = {"sample.greedy.128256", "sample.top_p.128256", "sample.pen_lp20.128256"};
            for (int i = 0; i < 3; i++)
                g_times.push_back({names[i], "gpu_sample", us[i], (double)V * 4 / (us[i] * 1e-6) / 1e9, 0.0, us[i]});
        }
        CK(cudaFree((void *)b.logits));
        CK(cudaFree((void *)b.rows));
        CK(cudaFree((void *)b.counts));
        CK(cudaFree(b.out_ids));
        CK(cudaFree(b.out_logprobs));
        CK(cudaFree(scratch));
    }
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], nullptr, 0) : 0x1234abcdULL;
    const char *only = argc > 2 ? argv[2] : nullptr;
    cudaDeviceProp prop;
    CK(cudaGetDeviceProperties(&prop, 0));
    printf("device: %s, sm_%d%d, %d SMs, L2 %d MB, seed 0x%llx\n", prop.name, prop.major, prop.minor,
           prop.multiProcessorCount, prop.l2CacheSize >> 20, (unsigned long long)seed);
    g_pool = threadpool_create(0);
    measure_copy();
    const int n = (int)(sizeof LAB_CASES / sizeof LAB_CASES[0]);
    for (int i = 0; i < n; i++) {
        if (only && !strstr(LAB_CASES[i].name, only)) continue;
        run_case(&LAB_CASES[i], i + 1, seed * 1000003ULL + (uint64_t)(i + 1));
    }
    if (!only) test_sample(seed);
    printf("\n%-24s %-14s %10s %10s %8s %12s\n", "timed kernel", "op", "us", "GB/s", "of copy", "us (single)");
    for (auto &t : g_times)
        printf("%-24s %-14s %10.2f %10.1f %7.1f%% %12.2f\n", t.name, t.op, t.us, t.gbs, t.frac * 100.0, t.us_single);
    printf("(copy bandwidth %.1f GB/s; GEMV bytes = weights + x + y, weights rotated over >= 3x L2)\n", g_copy_gbs);
    printf("\n%d passed, %d failed\n", g_pass, g_fail);
    threadpool_destroy(g_pool);
    return g_fail ? 1 : 0;
}
