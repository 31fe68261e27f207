/* str_map.h - open-addressing hash maps used by the tokenizer.
 *
 * StrMap: byte string -> int32 id. Keys are NOT copied: they point into
 * storage the caller keeps alive for the map's lifetime (token texts).
 * PairMap: (int32 left, int32 right) -> (int32 rank, int32 merged id), the
 * BPE merge table. Both use linear probing with a power-of-two capacity kept
 * at most half full, so a lookup ends at an empty slot.
 */
#ifndef LLMCC_TOK_STR_MAP_H
#define LLMCC_TOK_STR_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct StrMapSlot {
    const char *key; /* NULL for an empty slot; not owned */
    uint32_t len;    /* key length in bytes */
    int32_t value;   /* the id stored for key */
} StrMapSlot;

typedef struct StrMap {
    StrMapSlot *slots; /* cap slots */
    size_t cap;        /* power of two */
    size_t count;      /* occupied slots, <= cap / 2 */
} StrMap;

void str_map_init(StrMap *m, size_t expected);
void str_map_free(StrMap *m);
/* Inserts or keeps: returns the value already stored for key, or stores
 * value and returns -1 when key was absent. */
int32_t str_map_put(StrMap *m, const char *key, size_t len, int32_t value);
/* Returns the value for key, or -1. */
int32_t str_map_get(const StrMap *m, const char *key, size_t len);

typedef struct PairMapSlot {
    uint64_t key;   /* (left << 32 | right) + 1; 0 marks an empty slot */
    int32_t rank;   /* merge priority, lower merges first */
    int32_t merged; /* id of the token the pair merges into */
} PairMapSlot;

typedef struct PairMap {
    PairMapSlot *slots; /* cap slots */
    size_t cap;         /* power of two */
    size_t count;       /* occupied slots, <= cap / 2 */
} PairMap;

void pair_map_init(PairMap *m, size_t expected);
void pair_map_free(PairMap *m);
/* Stores (rank, merged) for the pair unless it is present with a lower or
 * equal rank (the first, best merge wins). */
void pair_map_put(PairMap *m, int32_t left, int32_t right, int32_t rank, int32_t merged);
/* Returns the slot for the pair, or NULL. */
const PairMapSlot *pair_map_get(const PairMap *m, int32_t left, int32_t right);

#endif
