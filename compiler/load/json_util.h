/* json_util.h - JSON files through jansson, with messages that name things.
 *
 * Parse errors read "path:line:col: reason". Typed getters read one field of
 * an object and, when it has the wrong type or value, produce
 *   path: field "hidden_size": expected a positive integer, got "abc"
 * Getters never abort; absent optional fields leave *out untouched.
 */
#ifndef LLMCC_LOAD_JSON_UTIL_H
#define LLMCC_LOAD_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"

typedef enum JsonNeed {
    JSON_OPTIONAL, /* absent (or null) field: LLM_OK, *out unchanged */
    JSON_REQUIRED, /* absent field is an error naming file and field */
} JsonNeed;

/* Loads and parses path; *out is a new reference on success. */
int json_util_load_file(const char *path, json_t **out, LlmError *err);
/* Parses buf[len] (not necessarily NUL-terminated); path names it in errors. */
int json_util_parse(const char *path, const char *buf, size_t len, json_t **out,
                      LlmError *err);

/* Short printable rendering of v for messages (owned by caller, free()). */
char *json_util_repr(const json_t *v);

/* Any integer that fits an int. */
int json_util_get_int(const json_t *obj, const char *path, const char *field, JsonNeed need,
                 int *out, LlmError *err);
/* Integer > 0. */
int json_util_get_pos_int(const json_t *obj, const char *path, const char *field, JsonNeed need,
                     int *out, LlmError *err);
/* Finite number (integer or real). */
int json_util_get_float(const json_t *obj, const char *path, const char *field, JsonNeed need,
                   float *out, LlmError *err);
/* true / false, stored as 1 / 0. */
int json_util_get_bool(const json_t *obj, const char *path, const char *field, JsonNeed need,
                  int *out, LlmError *err);
/* String, borrowed from obj. */
int json_util_get_string(const json_t *obj, const char *path, const char *field, JsonNeed need,
                    const char **out, LlmError *err);

#endif
