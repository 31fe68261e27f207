/* str_map.c - open-addressing hash maps (see str_map.h).
 *
 * FNV-1a for strings, a 64-bit mix for pairs; linear probing; the table
 * doubles before it passes half full, so probes stay short and every
 * lookup terminates at an empty slot.
 */
#include "tok/str_map.h"

#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static uint64_t str_map_hash(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)key[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static size_t map_capacity_for(size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2 + 2) cap *= 2;
    return cap;
}

void str_map_init(StrMap *m, size_t expected) {
    m->cap = map_capacity_for(expected);
    m->count = 0;
    m->slots = llm_xcalloc(m->cap, sizeof(StrMapSlot));
}

void str_map_free(StrMap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static StrMapSlot *str_map_find(const StrMap *m, const char *key, size_t len) {
    size_t mask = m->cap - 1;
    size_t i = (size_t)str_map_hash(key, len) & mask;
    for (;;) {
        StrMapSlot *s = &m->slots[i];
        if (!s->key) return s;
        if (s->len == len && memcmp(s->key, key, len) == 0) return s;
        i = (i + 1) & mask;
    }
}

static void str_map_grow(StrMap *m) {
    StrMap bigger;
    bigger.cap = m->cap * 2;
    bigger.count = m->count;
    bigger.slots = llm_xcalloc(bigger.cap, sizeof(StrMapSlot));
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        *str_map_find(&bigger, m->slots[i].key, m->slots[i].len) = m->slots[i];
    }
    free(m->slots);
    *m = bigger;
}

int32_t str_map_put(StrMap *m, const char *key, size_t len, int32_t value) {
    if ((m->count + 1) * 2 > m->cap) str_map_grow(m);
    StrMapSlot *s = str_map_find(m, key, len);
    if (s->key) return s->value;
    s->key = key;
    s->len = (uint32_t)len;
    s->value = value;
    m->count++;
    return -1;
}

int32_t str_map_get(const StrMap *m, const char *key, size_t len) {
    if (!m->slots) return -1;
    const StrMapSlot *s = str_map_find(m, key, len);
    return s->key ? s->value : -1;
}

static uint64_t pair_map_key(int32_t left, int32_t right) {
    return (((uint64_t)(uint32_t)left << 32) | (uint32_t)right) + 1;
}

static size_t pair_map_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k;
}

void pair_map_init(PairMap *m, size_t expected) {
    m->cap = map_capacity_for(expected);
    m->count = 0;
    m->slots = llm_xcalloc(m->cap, sizeof(PairMapSlot));
}

void pair_map_free(PairMap *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static PairMapSlot *pair_map_find(const PairMap *m, uint64_t key) {
    size_t mask = m->cap - 1;
    size_t i = pair_map_hash(key) & mask;
    while (m->slots[i].key && m->slots[i].key != key) i = (i + 1) & mask;
    return &m->slots[i];
}

static void pair_map_grow(PairMap *m) {
    PairMap bigger;
    bigger.cap = m->cap * 2;
    bigger.count = m->count;
    bigger.slots = llm_xcalloc(bigger.cap, sizeof(PairMapSlot));
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key) *pair_map_find(&bigger, m->slots[i].key) = m->slots[i];
    }
    free(m->slots);
    *m = bigger;
}

void pair_map_put(PairMap *m, int32_t left, int32_t right, int32_t rank, int32_t merged) {
    if ((m->count + 1) * 2 > m->cap) pair_map_grow(m);
    uint64_t key = pair_map_key(left, right);
    PairMapSlot *s = pair_map_find(m, key);
    if (s->key && s->rank <= rank) return;
    if (!s->key) m->count++;
    s->key = key;
    s->rank = rank;
    s->merged = merged;
}

const PairMapSlot *pair_map_get(const PairMap *m, int32_t left, int32_t right) {
    const PairMapSlot *s = pair_map_find(m, pair_map_key(left, right));
    return s->key ? s : NULL;
}
