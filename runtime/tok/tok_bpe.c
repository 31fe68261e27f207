/* tok_bpe.c - the BPE merge loop shared by both tokenizer families.
 *
 * A word becomes a doubly linked list of symbols (token ids); a binary
 * min-heap holds candidate adjacent pairs keyed by (merge rank, position of
 * the left symbol), so the best-ranked, leftmost pair merges first, as in
 * HF tokenizers (rank) and llama.cpp SPM (score turned into a rank at load).
 * Heap entries are not removed when a neighbour merges; a popped entry is
 * used only if both symbols are still alive and still hold the ids it was
 * made from. O(n log n) per word. Symbols are always vocabulary ids: chars
 * missing from the vocab become <0xNN> byte tokens or unk before merging;
 * a byte-level byte with no symbol in the vocab (SmolLM2 lacks 0xF5-0xFF,
 * which valid UTF-8 never holds) is dropped, as it cannot be encoded.
 */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_internal.h"

typedef struct BpeCand {
    int32_t rank;  /* merge rank, lower first */
    int32_t left;  /* index of the left symbol (also the tie-break) */
    int32_t lid;   /* left symbol id when the entry was made */
    int32_t rid;   /* right symbol id when the entry was made */
} BpeCand;

typedef struct BpeWork {
    int32_t *id;    /* [n] symbol id, -1 once merged away */
    int32_t *next;  /* [n] next alive symbol index, -1 at the end */
    int32_t *prev;  /* [n] previous alive symbol index, -1 at the start */
    int n;          /* symbols */
    BpeCand *heap;  /* min-heap on (rank, left) */
    int heap_n;     /* used heap entries */
    int heap_cap;   /* allocated heap entries */
} BpeWork;

void tok_ids_push(TokIds *ids, int32_t id) {
    if (ids->n == ids->cap) {
        ids->cap = ids->cap ? ids->cap * 2 : 64;
        ids->v = llm_xrealloc(ids->v, (size_t)ids->cap * sizeof(int32_t));
    }
    ids->v[ids->n++] = id;
}

static int bpe_less(const BpeCand *a, const BpeCand *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void bpe_heap_push(BpeWork *w, BpeCand c) {
    if (w->heap_n == w->heap_cap) {
        w->heap_cap = w->heap_cap ? w->heap_cap * 2 : 64;
        w->heap = llm_xrealloc(w->heap, (size_t)w->heap_cap * sizeof(BpeCand));
    }
    int i = w->heap_n++;
    while (i > 0) {
        int p = (i - 1) / 2;
        if (!bpe_less(&c, &w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = c;
}

static BpeCand bpe_heap_pop(BpeWork *w) {
    BpeCand top = w->heap[0];
    BpeCand last = w->heap[--w->heap_n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= w->heap_n) break;
        if (c + 1 < w->heap_n && bpe_less(&w->heap[c + 1], &w->heap[c])) c++;
        if (!bpe_less(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (w->heap_n > 0) w->heap[i] = last;
    return top;
}

static void bpe_try_pair(const Tokenizer *t, BpeWork *w, int left) {
    if (left < 0) return;
    int right = w->next[left];
    if (right < 0) return;
    const PairMapSlot *m = pair_map_get(&t->merges, w->id[left], w->id[right]);
    if (!m) return;
    BpeCand c = {m->rank, left, w->id[left], w->id[right]};
    bpe_heap_push(w, c);
}

/* Merges w's symbols in place and appends the result to out. */
static void bpe_merge(const Tokenizer *t, BpeWork *w, TokIds *out) {
    for (int i = 0; i < w->n; i++) {
        w->next[i] = i + 1 < w->n ? i + 1 : -1;
        w->prev[i] = i - 1;
    }
    for (int i = 0; i + 1 < w->n; i++) bpe_try_pair(t, w, i);
    while (w->heap_n > 0) {
        BpeCand c = bpe_heap_pop(w);
        int right = w->next[c.left];
        if (w->id[c.left] != c.lid || right < 0 || w->id[right] != c.rid) continue;
        w->id[c.left] = pair_map_get(&t->merges, c.lid, c.rid)->merged;
        w->id[right] = -1;
        w->next[c.left] = w->next[right];
        if (w->next[right] >= 0) w->prev[w->next[right]] = c.left;
        bpe_try_pair(t, w, w->prev[c.left]);
        bpe_try_pair(t, w, c.left);
    }
    for (int i = 0; i >= 0 && i < w->n; i = w->next[i]) tok_ids_push(out, w->id[i]);
}

static void bpe_work_init(BpeWork *w, size_t max_symbols) {
    memset(w, 0, sizeof *w);
    size_t n = max_symbols ? max_symbols : 1;
    w->id = llm_xmalloc(n * 3 * sizeof(int32_t));
    w->next = w->id + n;
    w->prev = w->id + 2 * n;
}

static void bpe_work_free(BpeWork *w) {
    free(w->id);
    free(w->heap);
}

void tok_bpe_bytes(const Tokenizer *t, const char *s, size_t len, TokIds *out) {
    if (len == 0) return;
    BpeWork w;
    bpe_work_init(&w, len);
    for (size_t i = 0; i < len; i++) {
        int32_t id = t->byte_id[(uint8_t)s[i]];
        if (id >= 0) w.id[w.n++] = id;
    }
    bpe_merge(t, &w, out);
    bpe_work_free(&w);
}

/* Appends the symbols for one char: its token, its <0xNN> bytes, or unk. */
static void bpe_push_char(const Tokenizer *t, BpeWork *w, const char *c, size_t n,
                          int *prev_unk) {
    int32_t id = str_map_get(&t->vocab, c, n);
    if (id >= 0) {
        w->id[w->n++] = id;
        *prev_unk = 0;
        return;
    }
    int all_bytes = t->byte_fallback;
    for (size_t i = 0; i < n && all_bytes; i++) all_bytes = t->byte_id[(uint8_t)c[i]] >= 0;
    if (all_bytes) {
        for (size_t i = 0; i < n; i++) w->id[w->n++] = t->byte_id[(uint8_t)c[i]];
        *prev_unk = 0;
        return;
    }
    if (t->unk_id < 0) return;
    if (!(*prev_unk && t->fuse_unk)) w->id[w->n++] = t->unk_id;
    *prev_unk = 1;
}

void tok_bpe_chars(const Tokenizer *t, const char *s, size_t len, TokIds *out) {
    if (len == 0) return;
    BpeWork w;
    bpe_work_init(&w, len);
    int prev_unk = 0;
    for (size_t i = 0; i < len;) {
        size_t n = tok_utf8_len(s + i, len - i);
        bpe_push_char(t, &w, s + i, n, &prev_unk);
        i += n;
    }
    bpe_merge(t, &w, out);
    bpe_work_free(&w);
}
