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
 * Finally gpu_sample against a host reference of gpu_sample.h's rule.
 * Prints "N passed, M failed"; exit status 1 on any failure.
 */
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
}
#include "gpu/cuda_ctx.h"
#include "gpu/gpu_sample.h"

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
        if (c->prefill) {
            for (int t = 0; t < T; t++) positions[t] = c->ctx - T + t, seq_index[t] = 0;
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
    /* scratch as the IR sizes it (ir_scratch_row_bytes), max_tokens rows */
    const size_t scratch_bytes = (size_t)64 * ((size_t)c->wcols + 2 * (size_t)c->cols) * 4;
    std::vector<uint8_t> hscratch(scratch_bytes);
    const int kvdim = c->kv_heads * c->head_dim;
    const size_t kv_elems = c->op == OP_ATTENTION ? (size_t)2 * n_blocks * c->block_size * kvdim : 1;
    std::vector<float> K(kv_elems), V(kv_elems);
    for (auto &v : K) v = rnd_unit();
    for (auto &v : V) v = rnd_unit();
    const float NaN = nanf("");
    std::vector<float> y_ref((size_t)rows * c->out_stride, NaN), y_gpu(y_ref.size());
    /* cpu reference */
    std::vector<float> Kr = K, Vr = V;
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
    float *d_K = dev_copy(K), *d_V = dev_copy(V);
    std::vector<float> poison(y_ref.size(), NaN);
    float *d_y = dev_copy(poison);
    cudaStream_t st;
    CK(cudaStreamCreate(&st));
    int sms = 0;
    CK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    LlmCudaCtx cc = {st, d_tok, d_pos, d_seq, d_bt, d_sel, nullptr, d_K, d_V, n_blocks, n_seqs, sms};
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
        std::vector<float> Kg(kv_elems), Vg(kv_elems);
        CK(cudaMemcpy(Kg.data(), d_K, kv_elems * 4, cudaMemcpyDeviceToHost));
        CK(cudaMemcpy(Vg.data(), d_V, kv_elems * 4, cudaMemcpyDeviceToHost));
        for (size_t i = 0; i < kv_elems; i++) kv_diff += (Kg[i] != Kr[i]) + (Vg[i] != Vr[i]);
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
            for (int t = 0; t < T; t++) kv += (double)(positions[t] + 1) * kvdim * 4 * 2;
            bytes = kv + in_bytes + out_bytes + (double)T * kvdim * 4 * 2;
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
    CK(cudaStreamDestroy(st));
    for (void *p : std::vector<void *>{d_tok, d_pos, d_seq, d_bt, d_sel, d_x[0], d_x[1], d_x[2], d_mat, d_gain, d_bias,
                                       d_K, d_V, d_y, d_scratch})
        if (p) CK(cudaFree(p));
    return ok;
}

/* ---- gpu_sample against the documented rule ------------------------------ */
struct Cand {
    float v;
    int id;
};
static int ref_sample(const float *lg, int V, const LlmSampleRow &p) {
    if (p.temperature == 0.0f) {
        int best = 0, found = 0;
        float bv = 0;
        for (int i = 0; i < V; i++)
            if (!std::isnan(lg[i]) && (!found || lg[i] > bv)) best = i, bv = lg[i], found = 1;
        return best;
    }
    std::vector<Cand> c;
    for (int i = 0; i < V; i++)
        if (!std::isnan(lg[i])) c.push_back({lg[i] / p.temperature, i});
    int n = (int)c.size();
    if (n == 0) return 0;
    bool cut = (p.top_k > 0 && p.top_k < n) || p.top_p < 1.0f;
    if (cut) {
        std::stable_sort(c.begin(), c.end(), [](const Cand &a, const Cand &b) { return a.v > b.v; });
        if (p.top_k > 0 && p.top_k < n) n = p.top_k;
    }
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) mx = std::max(mx, c[i].v);
    double sum = 0;
    for (int i = 0; i < n; i++) {
        c[i].v = std::isinf(mx) ? (c[i].v == mx ? 1.0f : 0.0f) : expf(c[i].v - mx);
        sum += c[i].v;
    }
    if (p.top_p < 1.0f) {
        double target = (double)p.top_p * sum, acc = 0;
        int keep = 0;
        while (keep < n && (keep == 0 || acc < target)) acc += c[keep++].v;
        n = keep;
        sum = acc;
    }
    double u = (double)p.uniform * sum, acc = 0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (c[i].v <= 0.0f) continue;
        acc += c[i].v;
        last = i;
        if (u < acc) return c[i].id;
    }
    return c[last].id;
}

static void test_sample(uint64_t seed) {
    const int vocabs[] = {152064, 128256, 1000, 7};
    for (int vi = 0; vi < 4; vi++) {
        const int V = vocabs[vi];
        g_rng = seed + vi;
        const LlmSampleRow params[] = {{0.0f, 0, 1.0f, 0.5f},  {1.0f, 0, 1.0f, 0.3f},   {0.7f, 40, 1.0f, 0.9f},
                                       {1.0f, 0, 0.9f, 0.42f}, {0.8f, 50, 0.95f, 0.1f}, {1.3f, 1, 1.0f, 0.99f},
                                       {0.0f, 0, 1.0f, 0.0f},  {2.0f, 100, 0.5f, 0.77f}, {1.0f, 0, 0.999f, 0.999f},
                                       {0.5f, 3, 1.0f, 0.5f}};
        const int R = 10;
        std::vector<LlmSampleRow> rows(params, params + R);
        for (int r = 1; r < R; r++) rows[r].uniform = (float)((rnd_u64() >> 40) * (1.0 / 16777216.0));
        std::vector<float> lg((size_t)R * V);
        for (auto &v : lg) v = rnd_unit() * 8.0f;
        /* ties, NaN, infinities */
        for (int r = 0; r < R; r++) {
            float *row = &lg[(size_t)r * V];
            int a = rnd_int(V), b2 = rnd_int(V);
            row[a] = 9.0f;
            row[b2] = 9.0f;
            row[rnd_int(V)] = nanf("");
            if (r == 6) row[rnd_int(V)] = INFINITY;
            if (r == 9 && V > 2) row[0] = row[1] = -0.0f;
        }
        float *d_lg = dev_copy(lg);
        LlmSampleRow *d_rows = dev_copy(rows);
        int32_t *d_out;
        CK(cudaMalloc(&d_out, R * 4));
        void *scratch;
        size_t sb = gpu_sample_scratch_bytes(R, V);
        CK(cudaMalloc(&scratch, sb));
        int rc = gpu_sample(nullptr, d_lg, R, V, d_rows, d_out, scratch);
        CK(cudaDeviceSynchronize());
        std::vector<int32_t> out(R);
        CK(cudaMemcpy(out.data(), d_out, R * 4, cudaMemcpyDeviceToHost));
        int bad = rc != 0;
        for (int r = 0; r < R; r++) {
            int want = ref_sample(&lg[(size_t)r * V], V, rows[r]);
            if (want != out[r]) {
                bad++;
                printf("     gpu_sample V=%d row %d (t %.2f k %d p %.3f u %.4f): got %d want %d\n", V, r,
                       rows[r].temperature, rows[r].top_k, rows[r].top_p, rows[r].uniform, out[r], want);
            }
        }
        printf("%-4s gpu_sample V=%-6d %d rows (greedy, temperature, top-k, top-p, ties, NaN, inf)\n", bad ? "FAIL" : "ok",
               V, R);
        bad ? g_fail++ : g_pass++;
        { /* the greedy-only path (gpu_sample_greedy) on the same rows, all greedy */
            std::vector<LlmSampleRow> g(R, LlmSampleRow{0.0f, 0, 1.0f, 0.0});
            CK(cudaMemcpy(d_rows, g.data(), R * sizeof(LlmSampleRow), cudaMemcpyHostToDevice));
            int grc = gpu_sample_greedy(nullptr, d_lg, R, V, d_rows, d_out, scratch);
            CK(cudaDeviceSynchronize());
            CK(cudaMemcpy(out.data(), d_out, R * 4, cudaMemcpyDeviceToHost));
            int gbad = grc != 0;
            for (int r = 0; r < R; r++)
                if (out[r] != ref_sample(&lg[(size_t)r * V], V, g[r])) gbad++;
            printf("%-4s gpu_sample_greedy V=%-6d %d rows (ties, NaN, inf, -0)\n", gbad ? "FAIL" : "ok", V, R);
            gbad ? g_fail++ : g_pass++;
            CK(cudaMemcpy(d_rows, rows.data(), R * sizeof(LlmSampleRow), cudaMemcpyHostToDevice));
        }
        if (V == 128256 && !bad) { /* time: 1 greedy row, 1 top-p row */
            for (int which = 0; which < 2; which++) {
                const LlmSampleRow *dr = d_rows + (which == 0 ? 0 : 3);
                cudaEvent_t e0, e1;
                CK(cudaEventCreate(&e0));
                CK(cudaEventCreate(&e1));
                std::vector<float> ts;
                for (int it = 0; it < 25; it++) {
                    CK(cudaEventRecord(e0));
                    (which == 0 ? gpu_sample_greedy : gpu_sample)(nullptr, d_lg + (which == 0 ? 0 : 3 * (size_t)V), 1, V,
                                                                  dr, d_out, scratch);
                    CK(cudaEventRecord(e1));
                    CK(cudaEventSynchronize(e1));
                    float ms;
                    CK(cudaEventElapsedTime(&ms, e0, e1));
                    if (it >= 5) ts.push_back(ms);
                }
                double us = median(ts) * 1e3;
                g_times.push_back({which == 0 ? "sample.greedy.128256" : "sample.top_p.128256", "gpu_sample", us,
                                   (double)V * 4 / (us * 1e-6) / 1e9, 0.0, us});
                CK(cudaEventDestroy(e0));
                CK(cudaEventDestroy(e1));
            }
        }
        CK(cudaFree(d_lg));
        CK(cudaFree(d_rows));
        CK(cudaFree(d_out));
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
