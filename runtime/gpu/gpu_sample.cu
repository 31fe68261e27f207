/* gpu_sample.cu - next-token sampling on the device (see gpu_sample.h).
 *
 * Three launches on the caller's stream, graph-capturable (no allocation,
 * no synchronisation; scratch comes from the caller):
 *  1. prep, one 1024-thread block per row.
 *     - Penalties (rows with sample_row_has_penalties and a table): the
 *       row's logits copied into the scratch's keys_out row, then each
 *       listed token's entry overwritten with sample_penalize of its raw
 *       logit (ids distinct, so no two threads write one entry); x below
 *       is that copy, else the logits themselves.
 *     - Logprobs (rows with logprobs == 1): max and double sum of
 *       expf(x - max) over non-NaN x (block reductions), kept per row in
 *       scratch for the chosen token; the top_logprobs best (value desc,
 *       id asc) by a per-thread sorted list of up to 20 over the thread's
 *       strided ids, merged by top_logprobs block arg-max rounds.
 *     - Greedy rows (temperature 0): argmax of x (NaN ignored, ties to the
 *       lowest id, all-NaN -> 0) into out_ids (and the chosen logprob),
 *       and an empty sort segment.
 *     - Other rows: keys = x / temperature (-0 folded to +0, NaN -> a
 *       negative-NaN pattern that sorts below -inf), ids = 0..vocab-1, the
 *       count of non-NaN x, and a full sort segment only when a cut needs
 *       the order (top_k in (0, n_valid) or top_p < 1), else an empty one
 *       (id order is kept; min-p needs no order).
 *  2. cub::DeviceSegmentedRadixSort::SortPairsDescending over the rows'
 *     segments: stable, so equal probabilities keep ids ascending (the host
 *     rule "ties: lower id first"); empty segments cost nothing.
 *  3. draw, one 1024-thread block per sampled row: candidates are the sorted
 *     top min(top_k, n_valid) (or all n_valid), or the whole row in id order
 *     when nothing is cut; weights w = expf(key - max) in float32 (all mass
 *     to the keys equal to an infinite max), set to 0 when w < min_p (the
 *     largest weight is 1), summed in double; the nucleus is the shortest
 *     prefix whose double prefix sum reaches top_p * total; the token is the
 *     first candidate of positive weight whose inclusive prefix sum exceeds
 *     u * (prefix mass), else the last positive one. Then, for logprobs,
 *     the chosen token's penalised logit (its raw logit, penalised if the
 *     row's list holds it) against the row's stored max and log-sum.
 *     Prefix sums are chunked block scans in double: they may differ from
 *     the host's sequential double sums in the last bits, which changes a
 *     draw only when u falls within ~1e-16 of a boundary.
 */
#include "gpu/gpu_sample.h"

#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>
#include <cmath>

namespace {

constexpr int kThreads = 1024;
constexpr uint32_t kNanKey = 0xffffffffu; /* negative NaN: below -inf in a descending radix sort */

struct Scratch {
    float *keys_in, *keys_out;  /* [n_rows][vocab]; keys_out also holds prep's penalised logits */
    int32_t *ids_in, *ids_out;  /* [n_rows][vocab] */
    int *seg_begin, *seg_end;   /* [n_rows] sort segments (empty = no sort) */
    int *n_valid;               /* [n_rows] non-NaN logits; -1 = greedy row, done in prep */
    float *lp_max;              /* [n_rows] max penalised logit (logprobs rows) */
    double *lp_log_sum;         /* [n_rows] log of the summed softmax weights (logprobs rows) */
    void *temp;                 /* cub sort temporary storage */
    size_t temp_bytes;
};

size_t align256(size_t x) { return (x + 255) & ~(size_t)255; }

size_t sort_temp_bytes(int n_rows, int vocab) {
    size_t bytes = 0;
    cub::DeviceSegmentedRadixSort::SortPairsDescending(nullptr, bytes, (const float *)nullptr, (float *)nullptr,
                                                       (const int32_t *)nullptr, (int32_t *)nullptr,
                                                       (long long)n_rows * vocab, n_rows, (const int *)nullptr,
                                                       (const int *)nullptr, 0, 32, (cudaStream_t)0);
    return bytes;
}

/* Lays the scratch out from base (NULL: only measures); returns its bytes. */
size_t carve(void *base, int n_rows, int vocab, Scratch *s) {
    const size_t nv = (size_t)n_rows * (size_t)vocab, nr = (size_t)n_rows;
    char *b = (char *)base;
    size_t off = 0;
    auto take = [&](size_t bytes) -> void * {
        void *p = b ? b + off : nullptr;
        off += align256(bytes);
        return p;
    };
    s->keys_in = (float *)take(nv * sizeof(float));
    s->keys_out = (float *)take(nv * sizeof(float));
    s->ids_in = (int32_t *)take(nv * sizeof(int32_t));
    s->ids_out = (int32_t *)take(nv * sizeof(int32_t));
    s->seg_begin = (int *)take(nr * sizeof(int));
    s->seg_end = (int *)take(nr * sizeof(int));
    s->n_valid = (int *)take(nr * sizeof(int));
    s->lp_max = (float *)take(nr * sizeof(float));
    s->lp_log_sum = (double *)take(nr * sizeof(double));
    s->temp_bytes = sort_temp_bytes(n_rows, vocab);
    s->temp = take(s->temp_bytes);
    return off;
}

struct MaxF {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct MaxI {
    __device__ __forceinline__ int operator()(int a, int b) const { return a > b ? a : b; }
};

struct ArgBest {
    float v;
    int i; /* -1: nothing yet */
};

__device__ __forceinline__ ArgBest better(ArgBest a, ArgBest b) {
    if (b.i < 0) return a;
    if (a.i < 0) return b;
    if (b.v > a.v || (b.v == a.v && b.i < a.i)) return b;
    return a;
}

struct ArgBestOp {
    __device__ __forceinline__ ArgBest operator()(const ArgBest &a, const ArgBest &b) const { return better(a, b); }
};

typedef cub::BlockReduce<ArgBest, kThreads> ArgReduce;
typedef cub::BlockReduce<float, kThreads> FReduce;
typedef cub::BlockReduce<double, kThreads> DReduce;
typedef cub::BlockReduce<int, kThreads> IReduce;
typedef cub::BlockScan<double, kThreads> DScan;

/* One block's reduction scratch; every helper below syncs before reuse. */
union BlockTemp {
    typename ArgReduce::TempStorage arg;
    typename FReduce::TempStorage fmax;
    typename DReduce::TempStorage dsum;
    typename IReduce::TempStorage ints;
    typename DScan::TempStorage scan;
};

/* Log-softmax normaliser of one row: log p(x) = (x - mx) - log_sum. */
struct LogNorm {
    float mx;
    double log_sum;
};

/* Same as the host's logprob_of (sampler.c). */
__device__ __forceinline__ float logprob_of(float x, LogNorm z) {
    if (isnan(x)) return -INFINITY;
    if (isinf(z.mx)) return x == z.mx ? (float)-z.log_sum : -INFINITY;
    return (float)((double)(x - z.mx) - z.log_sum);
}

/* Block-wide helpers: every thread of the block calls them, every thread
 * gets the result. */
__device__ ArgBest block_best(BlockTemp &tmp, ArgBest mine) {
    __shared__ ArgBest sh;
    ArgBest b = ArgReduce(tmp.arg).Reduce(mine, ArgBestOp());
    if (threadIdx.x == 0) sh = b;
    __syncthreads();
    b = sh;
    __syncthreads();
    return b;
}

__device__ float block_max(BlockTemp &tmp, float mine) {
    __shared__ float sh;
    float m = FReduce(tmp.fmax).Reduce(mine, MaxF());
    if (threadIdx.x == 0) sh = m;
    __syncthreads();
    m = sh;
    __syncthreads();
    return m;
}

__device__ double block_sum(BlockTemp &tmp, double mine) {
    __shared__ double sh;
    double v = DReduce(tmp.dsum).Sum(mine);
    if (threadIdx.x == 0) sh = v;
    __syncthreads();
    v = sh;
    __syncthreads();
    return v;
}

/* Argmax of x [n] (NaN ignored, ties to the lowest id; -1 if all NaN). */
__device__ int block_argmax(BlockTemp &tmp, const float *x, int n) {
    ArgBest best = {0.0f, -1};
    for (int i = threadIdx.x; i < n; i += kThreads) {
        const float v = x[i];
        if (!isnan(v)) best = better(best, ArgBest{v, i});
    }
    return block_best(tmp, best).i;
}

/* Copies lg [vocab] into buf and overwrites the listed tokens with their
 * penalised logits; returns buf. */
__device__ const float *penalise_row(const float *lg, int vocab, const LlmSampleRow &p,
                                     const LlmTokenCount *counts, float *buf) {
    for (int i = threadIdx.x; i < vocab; i += kThreads) buf[i] = lg[i];
    __syncthreads();
    const LlmTokenCount *list = counts + p.counts_offset;
    for (int j = threadIdx.x; j < p.n_counts; j += kThreads) {
        const LlmTokenCount e = list[j];
        if ((unsigned)e.id < (unsigned)vocab) buf[e.id] = sample_penalize(lg[e.id], e.count, &p);
    }
    __syncthreads();
    return buf;
}

/* Logprobs of x [vocab]: the normaliser, and the k best into out (thread 0
 * writes). Per thread: a sorted list of its k best (its ids ascend, so an
 * equal value never displaces an earlier one); then k rounds of a block
 * arg-max over the list heads, the winner's thread advancing its head. */
__device__ LogNorm row_logprobs(BlockTemp &tmp, const float *x, int vocab, int k, LlmTokenLogprobs *out) {
    float lv[LLM_LOGPROBS_MAX];
    int li[LLM_LOGPROBS_MAX];
    int m = 0;
    float mx = -INFINITY;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        const float v = x[i];
        if (isnan(v)) continue;
        mx = fmaxf(mx, v);
        if (k == 0 || (m == k && !(v > lv[k - 1]))) continue;
        int j = m < k ? m++ : k - 1;
        for (; j > 0 && v > lv[j - 1]; j--) {
            lv[j] = lv[j - 1];
            li[j] = li[j - 1];
        }
        lv[j] = v;
        li[j] = i;
    }
    LogNorm z;
    z.mx = block_max(tmp, mx);
    double part = 0.0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        const float v = x[i];
        if (!isnan(v)) part += isinf(z.mx) ? (v == z.mx ? 1.0 : 0.0) : (double)expf(v - z.mx);
    }
    z.log_sum = log(block_sum(tmp, part));
    int head = 0, t = 0;
    for (; t < k; t++) {
        const ArgBest b = block_best(tmp, head < m ? ArgBest{lv[head], li[head]} : ArgBest{0.0f, -1});
        if (b.i < 0) break;
        if (head < m && li[head] == b.i) head++;
        if (threadIdx.x == 0) {
            out->top_ids[t] = b.i;
            out->top_logprobs[t] = logprob_of(b.v, z);
        }
    }
    if (threadIdx.x == 0) out->n_top = t;
    return z;
}

/* Grid: one block per row. Penalties, logprobs, greedy rows, and the sort
 * input of sampled rows (see the file comment). x: the penalised logits
 * (a scratch copy) or the logits; both are read after a block barrier. */
__global__ void __launch_bounds__(kThreads) prep_kernel(const float *logits, int vocab,
                                                        const LlmSampleRow *__restrict__ rows,
                                                        const LlmTokenCount *counts, int32_t *__restrict__ out_ids,
                                                        LlmTokenLogprobs *out_lp, Scratch s) {
    __shared__ BlockTemp tmp;
    const int r = blockIdx.x;
    const LlmSampleRow p = rows[r];
    const size_t at = (size_t)r * (size_t)vocab;
    const int row0 = r * vocab;
    const bool pen = counts != nullptr && sample_row_has_penalties(&p);
    const bool want_lp = out_lp != nullptr && p.logprobs != 0;
    const float *x = pen ? penalise_row(logits + at, vocab, p, counts, s.keys_out + at) : logits + at;
    LogNorm z = {0.0f, 0.0};
    if (want_lp) {
        z = row_logprobs(tmp, x, vocab, min(max(p.top_logprobs, 0), LLM_LOGPROBS_MAX), out_lp + r);
        if (threadIdx.x == 0) {
            s.lp_max[r] = z.mx;
            s.lp_log_sum[r] = z.log_sum;
        }
    }
    if (p.temperature == 0.0f) {
        const int best = block_argmax(tmp, x, vocab);
        if (threadIdx.x == 0) {
            out_ids[r] = best < 0 ? 0 : best;
            if (want_lp) {
                out_lp[r].id = best < 0 ? 0 : best;
                out_lp[r].logprob = best < 0 ? -INFINITY : logprob_of(x[best], z);
            }
            s.seg_begin[r] = s.seg_end[r] = row0;
            s.n_valid[r] = -1; /* greedy: draw skips the row */
        }
        return;
    }
    int valid = 0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        const float v = x[i];
        float key;
        if (isnan(v)) {
            key = __uint_as_float(kNanKey);
        } else {
            key = v / p.temperature;
            if (key == 0.0f) key = 0.0f; /* -0 and +0 rank equal on the host */
            valid++;
        }
        s.keys_in[at + i] = key;
        s.ids_in[at + i] = i;
    }
    valid = IReduce(tmp.ints).Sum(valid);
    if (threadIdx.x == 0) {
        const bool cut = (p.top_k > 0 && p.top_k < valid) || p.top_p < 1.0f;
        s.n_valid[r] = valid;
        s.seg_begin[r] = row0;
        s.seg_end[r] = cut ? row0 + vocab : row0;
    }
}

__device__ __forceinline__ float weight_of(float key, float mx, float min_p) {
    if (isnan(key)) return 0.0f;
    const float w = isinf(mx) ? (key == mx ? 1.0f : 0.0f) : expf(key - mx);
    return w < min_p ? 0.0f : w;
}

/* The penalised logit of token id in row p (raw logit v): the block looks
 * for id in the row's list. */
__device__ float chosen_logit(float v, int id, const LlmSampleRow &p, const LlmTokenCount *counts) {
    __shared__ int sh_count, sh_hit;
    if (counts == nullptr || !sample_row_has_penalties(&p)) return v;
    if (threadIdx.x == 0) sh_hit = 0;
    __syncthreads();
    const LlmTokenCount *list = counts + p.counts_offset;
    for (int j = threadIdx.x; j < p.n_counts; j += kThreads)
        if (list[j].id == id) {
            sh_count = list[j].count;
            sh_hit = 1;
        }
    __syncthreads();
    return sh_hit ? sample_penalize(v, sh_count, &p) : v;
}

/* Chunked inclusive block scan over the weights of key [lim]: the first
 * index whose prefix satisfies the condition (mode 0: incl >= target;
 * mode 1: w > 0 && target < incl), INT_MAX if none; *incl_at: the prefix
 * sum there (the whole sum if none). */
__device__ int block_find_first(BlockTemp &tmp, const float *key, float mx, float min_p, int lim, int mode,
                                double target, double *incl_at) {
    __shared__ double sh_carry, sh_incl;
    __shared__ int sh_found;
    double carry = 0.0;
    if (threadIdx.x == 0) sh_found = INT_MAX;
    __syncthreads();
    for (int base = 0; base < lim; base += kThreads) {
        const int i = base + (int)threadIdx.x;
        const float w = i < lim ? weight_of(key[i], mx, min_p) : 0.0f;
        double incl;
        DScan(tmp.scan).InclusiveSum((double)w, incl);
        incl += carry;
        const bool hit = i < lim && (mode == 0 ? incl >= target : (w > 0.0f && target < incl));
        if (hit) atomicMin(&sh_found, i);
        if (threadIdx.x == kThreads - 1) sh_carry = incl;
        __syncthreads();
        carry = sh_carry;
        const int f = sh_found;
        if (f != INT_MAX) {
            if (i == f) sh_incl = incl;
            __syncthreads();
            *incl_at = sh_incl;
            __syncthreads(); /* shared values and temp storage reused after */
            return f;
        }
        __syncthreads(); /* temp storage and sh_carry reused */
    }
    *incl_at = carry;
    return INT_MAX;
}

/* The last index of key [lim] with a positive weight (0 if none). */
__device__ int block_last_positive(BlockTemp &tmp, const float *key, float mx, float min_p, int lim) {
    __shared__ int sh;
    int last = 0;
    for (int i = threadIdx.x; i < lim; i += kThreads)
        if (weight_of(key[i], mx, min_p) > 0.0f) last = max(last, i);
    last = IReduce(tmp.ints).Reduce(last, MaxI());
    if (threadIdx.x == 0) sh = last;
    __syncthreads();
    return sh;
}

/* Grid: one block per row; rows done in prep (greedy) return at once.
 * Candidates, weights, min-p, nucleus and draw as in the file comment;
 * then the chosen token's logprob when asked. */
__global__ void __launch_bounds__(kThreads) draw_kernel(const float *__restrict__ logits, int vocab,
                                                        const LlmSampleRow *__restrict__ rows,
                                                        const LlmTokenCount *counts, int32_t *__restrict__ out_ids,
                                                        LlmTokenLogprobs *out_lp, Scratch s) {
    __shared__ BlockTemp tmp;
    const int r = blockIdx.x;
    const int nvalid = s.n_valid[r];
    if (nvalid < 0) return; /* greedy row, done in prep */
    const LlmSampleRow p = rows[r];
    const bool want_lp = out_lp != nullptr && p.logprobs != 0;
    if (nvalid == 0) { /* every logit NaN */
        if (threadIdx.x == 0) {
            out_ids[r] = 0;
            if (want_lp) {
                out_lp[r].id = 0;
                out_lp[r].logprob = -INFINITY;
            }
        }
        return;
    }
    const bool sorted = s.seg_end[r] > s.seg_begin[r];
    const size_t row0 = (size_t)r * vocab;
    const float *key = (sorted ? s.keys_out : s.keys_in) + row0;
    const int32_t *ids = (sorted ? s.ids_out : s.ids_in) + row0;
    const int n = sorted ? ((p.top_k > 0 && p.top_k < nvalid) ? p.top_k : nvalid) : vocab;

    float mx; /* max of the candidates */
    if (sorted) {
        mx = key[0];
    } else {
        float m = -INFINITY;
        for (int i = threadIdx.x; i < n; i += kThreads)
            if (!isnan(key[i])) m = fmaxf(m, key[i]);
        mx = block_max(tmp, m);
    }
    double part = 0.0; /* total mass (double), after min-p */
    for (int i = threadIdx.x; i < n; i += kThreads) part += (double)weight_of(key[i], mx, p.min_p);
    double sum = block_sum(tmp, part);

    int keep = n;
    if (p.top_p < 1.0f) {
        double at = 0.0;
        const int f = block_find_first(tmp, key, mx, p.min_p, n, 0, (double)p.top_p * sum, &at);
        if (f != INT_MAX) keep = f + 1;
        sum = at; /* the prefix's mass (the whole when not found) */
    }
    double at = 0.0;
    int pick = block_find_first(tmp, key, mx, p.min_p, keep, 1, p.uniform * sum, &at);
    if (pick == INT_MAX) /* rounding left u at the very top: the last positive weight */
        pick = block_last_positive(tmp, key, mx, p.min_p, keep);
    const int id = ids[pick];
    if (threadIdx.x == 0) out_ids[r] = id;
    if (want_lp) {
        const float x = chosen_logit(logits[row0 + id], id, p, counts);
        if (threadIdx.x == 0) {
            out_lp[r].id = id;
            out_lp[r].logprob = logprob_of(x, LogNorm{s.lp_max[r], s.lp_log_sum[r]});
        }
    }
}

} // namespace

extern "C" size_t gpu_sample_scratch_bytes(int n_rows, int vocab) {
    Scratch s;
    return carve(nullptr, n_rows, vocab, &s);
}

extern "C" int gpu_sample(void *stream, const GpuSampleBatch *b, void *scratch) {
    const int n_rows = b->n_rows, vocab = b->vocab;
    if (n_rows <= 0) return 0;
    cudaStream_t st = (cudaStream_t)stream;
    Scratch s;
    carve(scratch, n_rows, vocab, &s);
    prep_kernel<<<n_rows, kThreads, 0, st>>>(b->logits, vocab, b->rows, b->counts, b->out_ids, b->out_logprobs, s);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return (int)e;
    size_t bytes = s.temp_bytes;
    e = cub::DeviceSegmentedRadixSort::SortPairsDescending(s.temp, bytes, s.keys_in, s.keys_out, s.ids_in, s.ids_out,
                                                           (long long)n_rows * vocab, n_rows, s.seg_begin,
                                                           s.seg_end, 0, 32, st);
    if (e != cudaSuccess) return (int)e;
    draw_kernel<<<n_rows, kThreads, 0, st>>>(b->logits, vocab, b->rows, b->counts, b->out_ids, b->out_logprobs, s);
    e = cudaGetLastError();
    return e == cudaSuccess ? 0 : (int)e;
}

/* Greedy rows only: a two-stage argmax over many blocks (one block per row
 * reads 512 KB of logits at the speed of one SM: ~50 us for 128k vocab).
 * Stage 1: grid (kArgBlocks, rows), each block the best (value, id) of its
 * chunk (NaN skipped, ties to the lower id) into the scratch's keys/ids;
 * stage 2: one block per row reduces the kArgBlocks candidates. Same
 * result as the single-block argmax of prep_kernel. */
namespace {

constexpr int kArgBlocks = 128;
constexpr int kArgThreads = 256;

__global__ void __launch_bounds__(kArgThreads) argmax_partial(const float *__restrict__ logits, int vocab,
                                                              float *__restrict__ best_v, int32_t *__restrict__ best_i) {
    const int row = blockIdx.y, chunk = (vocab + kArgBlocks - 1) / kArgBlocks;
    const int begin = blockIdx.x * chunk, end = min(vocab, begin + chunk);
    const float *l = logits + (size_t)row * vocab;
    ArgBest mine = {0.0f, -1};
    for (int i = begin + threadIdx.x; i < end; i += kArgThreads) {
        float v = l[i];
        if (!isnan(v)) mine = better(mine, ArgBest{v, i});
    }
    typedef cub::BlockReduce<ArgBest, kArgThreads> Reduce;
    __shared__ typename Reduce::TempStorage tmp;
    ArgBest b = Reduce(tmp).Reduce(mine, ArgBestOp());
    if (threadIdx.x == 0) {
        best_v[(size_t)row * kArgBlocks + blockIdx.x] = b.v;
        best_i[(size_t)row * kArgBlocks + blockIdx.x] = b.i;
    }
}

__global__ void __launch_bounds__(kArgBlocks) argmax_final(const float *__restrict__ best_v,
                                                           const int32_t *__restrict__ best_i,
                                                           int32_t *__restrict__ out_ids) {
    const size_t at = (size_t)blockIdx.x * kArgBlocks + threadIdx.x;
    ArgBest mine = {best_v[at], best_i[at]};
    typedef cub::BlockReduce<ArgBest, kArgBlocks> Reduce;
    __shared__ typename Reduce::TempStorage tmp;
    ArgBest b = Reduce(tmp).Reduce(mine, ArgBestOp());
    if (threadIdx.x == 0) out_ids[blockIdx.x] = b.i < 0 ? 0 : b.i; /* all NaN -> 0 */
}

} // namespace

extern "C" int gpu_sample_greedy(void *stream, const GpuSampleBatch *b, void *scratch) {
    const int n_rows = b->n_rows, vocab = b->vocab;
    if (n_rows <= 0) return 0;
    cudaStream_t st = (cudaStream_t)stream;
    Scratch s;
    carve(scratch, n_rows, vocab, &s);
    if (vocab < kArgBlocks) { /* the scratch rows are too short to hold the candidates */
        prep_kernel<<<n_rows, kThreads, 0, st>>>(b->logits, vocab, b->rows, nullptr, b->out_ids, nullptr, s);
    } else {
        argmax_partial<<<dim3(kArgBlocks, (unsigned)n_rows), kArgThreads, 0, st>>>(b->logits, vocab, s.keys_in,
                                                                                   s.ids_in);
        argmax_final<<<n_rows, kArgBlocks, 0, st>>>(s.keys_in, s.ids_in, b->out_ids);
    }
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? 0 : (int)e;
}
