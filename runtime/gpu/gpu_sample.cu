/* gpu_sample.cu - next-token sampling on the device (see gpu_sample.h).
 *
 * Three launches on the caller's stream, graph-capturable (no allocation,
 * no synchronisation; scratch comes from the caller):
 *  1. prep, one 1024-thread block per row. Greedy rows (temperature 0):
 *     argmax (NaN ignored, ties to the lowest id, all-NaN -> 0), written to
 *     out_ids, and an empty sort segment. Other rows: keys = logit /
 *     temperature (-0 folded to +0, NaN -> a negative-NaN pattern that sorts
 *     below -inf), ids = 0..vocab-1, the count of non-NaN logits, and a
 *     full sort segment only when a cut needs the order (top_k in
 *     (0, n_valid) or top_p < 1), else an empty one (id order is kept).
 *  2. cub::DeviceSegmentedRadixSort::SortPairsDescending over the rows'
 *     segments: stable, so equal probabilities keep ids ascending (the host
 *     rule "ties: lower id first"); empty segments cost nothing.
 *  3. draw, one 1024-thread block per sampled row: candidates are the sorted
 *     top min(top_k, n_valid) (or all n_valid), or the whole row in id order
 *     when nothing is cut; weights w = expf(key - max) in float32 (all mass
 *     to the keys equal to an infinite max), summed in double; the nucleus
 *     is the shortest prefix whose double prefix sum reaches top_p * total;
 *     the token is the first candidate of positive weight whose inclusive
 *     prefix sum exceeds u * (prefix mass), else the last positive one.
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
    float *keys_in, *keys_out;
    int32_t *ids_in, *ids_out;
    int *seg_begin, *seg_end, *n_valid;
    void *temp;
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

Scratch carve(void *base, int n_rows, int vocab) {
    Scratch s;
    size_t nv = (size_t)n_rows * (size_t)vocab, off = 0;
    char *b = (char *)base;
    s.keys_in = (float *)(b + off);
    off += align256(nv * sizeof(float));
    s.keys_out = (float *)(b + off);
    off += align256(nv * sizeof(float));
    s.ids_in = (int32_t *)(b + off);
    off += align256(nv * sizeof(int32_t));
    s.ids_out = (int32_t *)(b + off);
    off += align256(nv * sizeof(int32_t));
    s.seg_begin = (int *)(b + off);
    off += align256((size_t)n_rows * sizeof(int));
    s.seg_end = (int *)(b + off);
    off += align256((size_t)n_rows * sizeof(int));
    s.n_valid = (int *)(b + off);
    off += align256((size_t)n_rows * sizeof(int));
    s.temp = b + off;
    s.temp_bytes = sort_temp_bytes(n_rows, vocab);
    return s;
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

__global__ void __launch_bounds__(kThreads) prep_kernel(const float *__restrict__ logits, int vocab,
                                                        const LlmSampleRow *__restrict__ rows,
                                                        int32_t *__restrict__ out_ids, Scratch s) {
    typedef cub::BlockReduce<ArgBest, kThreads> ArgReduce;
    typedef cub::BlockReduce<int, kThreads> IntReduce;
    __shared__ union {
        typename ArgReduce::TempStorage arg;
        typename IntReduce::TempStorage cnt;
    } tmp;
    const int r = blockIdx.x;
    const LlmSampleRow p = rows[r];
    const float *lg = logits + (size_t)r * vocab;
    const int row0 = r * vocab;
    if (p.temperature == 0.0f) {
        ArgBest best = {0.0f, -1};
        for (int i = threadIdx.x; i < vocab; i += kThreads) {
            const float v = lg[i];
            if (!isnan(v)) best = better(best, ArgBest{v, i});
        }
        best = ArgReduce(tmp.arg).Reduce(best, ArgBestOp());
        if (threadIdx.x == 0) {
            out_ids[r] = best.i < 0 ? 0 : best.i;
            s.seg_begin[r] = s.seg_end[r] = row0;
            s.n_valid[r] = -1; /* greedy: draw skips the row */
        }
        return;
    }
    int valid = 0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) {
        const float v = lg[i];
        float key;
        if (isnan(v)) {
            key = __uint_as_float(kNanKey);
        } else {
            key = v / p.temperature;
            if (key == 0.0f) key = 0.0f; /* -0 and +0 rank equal on the host */
            valid++;
        }
        s.keys_in[row0 + i] = key;
        s.ids_in[row0 + i] = i;
    }
    valid = IntReduce(tmp.cnt).Sum(valid);
    if (threadIdx.x == 0) {
        const bool cut = (p.top_k > 0 && p.top_k < valid) || p.top_p < 1.0f;
        s.n_valid[r] = valid;
        s.seg_begin[r] = row0;
        s.seg_end[r] = cut ? row0 + vocab : row0;
    }
}

__device__ __forceinline__ float weight_of(float key, float mx) {
    if (isnan(key)) return 0.0f;
    return isinf(mx) ? (key == mx ? 1.0f : 0.0f) : expf(key - mx);
}

__global__ void __launch_bounds__(kThreads) draw_kernel(int vocab, const LlmSampleRow *__restrict__ rows,
                                                        int32_t *__restrict__ out_ids, Scratch s) {
    typedef cub::BlockScan<double, kThreads> Scan;
    typedef cub::BlockReduce<double, kThreads> DReduce;
    typedef cub::BlockReduce<float, kThreads> FReduce;
    typedef cub::BlockReduce<int, kThreads> IReduce;
    __shared__ union {
        typename Scan::TempStorage scan;
        typename DReduce::TempStorage dsum;
        typename FReduce::TempStorage fmax;
        typename IReduce::TempStorage imax;
    } tmp;
    __shared__ double sh_d;
    __shared__ float sh_f;
    __shared__ int sh_found;
    __shared__ double sh_found_incl;
    const int r = blockIdx.x;
    const int nvalid = s.n_valid[r];
    if (nvalid < 0) return; /* greedy row, done in prep */
    const LlmSampleRow p = rows[r];
    if (nvalid == 0) {
        if (threadIdx.x == 0) out_ids[r] = 0;
        return;
    }
    const bool sorted = s.seg_end[r] > s.seg_begin[r];
    const size_t row0 = (size_t)r * vocab;
    const float *key = (sorted ? s.keys_out : s.keys_in) + row0;
    const int32_t *ids = (sorted ? s.ids_out : s.ids_in) + row0;
    const int n = sorted ? ((p.top_k > 0 && p.top_k < nvalid) ? p.top_k : nvalid) : vocab;

    /* max of the candidates */
    float mx;
    if (sorted) {
        mx = key[0];
    } else {
        float m = -INFINITY;
        for (int i = threadIdx.x; i < n; i += kThreads)
            if (!isnan(key[i])) m = fmaxf(m, key[i]);
        m = FReduce(tmp.fmax).Reduce(m, MaxF());
        if (threadIdx.x == 0) sh_f = m;
        __syncthreads();
        mx = sh_f;
    }

    /* total mass (double) */
    double part = 0.0;
    for (int i = threadIdx.x; i < n; i += kThreads) part += (double)weight_of(key[i], mx);
    __syncthreads();
    part = DReduce(tmp.dsum).Sum(part);
    if (threadIdx.x == 0) sh_d = part;
    __syncthreads();
    double sum = sh_d;

    /* Chunked inclusive scan: first index < lim whose prefix satisfies the
     * condition (mode 0: incl >= target; mode 1: w > 0 && target < incl). */
    auto find_first = [&](int lim, int mode, double target, double *incl_at) -> int {
        double carry = 0.0;
        if (threadIdx.x == 0) sh_found = INT_MAX;
        __syncthreads();
        for (int base = 0; base < lim; base += kThreads) {
            const int i = base + (int)threadIdx.x;
            const float w = i < lim ? weight_of(key[i], mx) : 0.0f;
            double incl;
            Scan(tmp.scan).InclusiveSum((double)w, incl);
            incl += carry;
            const bool hit = i < lim && (mode == 0 ? incl >= target : (w > 0.0f && target < incl));
            if (hit) atomicMin(&sh_found, i);
            if (threadIdx.x == kThreads - 1) sh_d = incl;
            __syncthreads();
            carry = sh_d;
            const int f = sh_found;
            if (f != INT_MAX) {
                if (i == f) sh_found_incl = incl;
                __syncthreads();
                *incl_at = sh_found_incl;
                return f;
            }
            __syncthreads(); /* temp storage and sh_d reused */
        }
        *incl_at = carry;
        return INT_MAX;
    };

    int keep = n;
    if (p.top_p < 1.0f) {
        double at = 0.0;
        const int f = find_first(n, 0, (double)p.top_p * sum, &at);
        if (f != INT_MAX) {
            keep = f + 1;
            sum = at;
        } else {
            sum = at; /* whole prefix */
        }
    }
    double at = 0.0;
    const int f = find_first(keep, 1, (double)p.uniform * sum, &at);
    int pick;
    if (f != INT_MAX) {
        pick = f;
    } else { /* rounding left u at the very top: the last positive weight */
        int last = 0;
        for (int i = threadIdx.x; i < keep; i += kThreads)
            if (weight_of(key[i], mx) > 0.0f) last = max(last, i);
        __syncthreads();
        last = IReduce(tmp.imax).Reduce(last, MaxI());
        if (threadIdx.x == 0) sh_found = last;
        __syncthreads();
        pick = sh_found;
    }
    if (threadIdx.x == 0) out_ids[r] = ids[pick];
}

} // namespace

extern "C" size_t gpu_sample_scratch_bytes(int n_rows, int vocab) {
    size_t nv = (size_t)n_rows * (size_t)vocab;
    return 2 * align256(nv * sizeof(float)) + 2 * align256(nv * sizeof(int32_t)) +
           3 * align256((size_t)n_rows * sizeof(int)) + align256(sort_temp_bytes(n_rows, vocab));
}

extern "C" int gpu_sample(void *stream, const float *logits, int n_rows, int vocab, const LlmSampleRow *rows,
                          int32_t *out_ids, void *scratch) {
    if (n_rows <= 0) return 0;
    cudaStream_t st = (cudaStream_t)stream;
    Scratch s = carve(scratch, n_rows, vocab);
    prep_kernel<<<n_rows, kThreads, 0, st>>>(logits, vocab, rows, out_ids, s);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) return (int)e;
    size_t bytes = s.temp_bytes;
    e = cub::DeviceSegmentedRadixSort::SortPairsDescending(s.temp, bytes, s.keys_in, s.keys_out, s.ids_in, s.ids_out,
                                                           (long long)n_rows * vocab, n_rows, s.seg_begin,
                                                           s.seg_end, 0, 32, st);
    if (e != cudaSuccess) return (int)e;
    draw_kernel<<<n_rows, kThreads, 0, st>>>(vocab, rows, out_ids, s);
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

extern "C" int gpu_sample_greedy(void *stream, const float *logits, int n_rows, int vocab,
                                 const LlmSampleRow *rows, int32_t *out_ids, void *scratch) {
    (void)rows;
    if (n_rows <= 0) return 0;
    cudaStream_t st = (cudaStream_t)stream;
    Scratch s = carve(scratch, n_rows, vocab);
    if (vocab < kArgBlocks) { /* the scratch rows are too short to hold the candidates */
        prep_kernel<<<n_rows, kThreads, 0, st>>>(logits, vocab, rows, out_ids, s);
    } else {
        argmax_partial<<<dim3(kArgBlocks, (unsigned)n_rows), kArgThreads, 0, st>>>(logits, vocab, s.keys_in, s.ids_in);
        argmax_final<<<n_rows, kArgBlocks, 0, st>>>(s.keys_in, s.ids_in, out_ids);
    }
    cudaError_t e = cudaGetLastError();
    return e == cudaSuccess ? 0 : (int)e;
}
