/* json_util.c - JSON loading and typed field getters with named errors.
 *
 * Only reads; never modifies the objects it is given. A JSON null counts as
 * absent (Hugging Face configs write "rope_scaling": null).
 */
#include "load/json_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/mapped_file.h"

/* Copy of buf[len] where every integer literal of 19+ digits (outside
 * strings) gets ".0" appended, so jansson reads it as a real instead of
 * failing ("model_max_length": 1000000000000000019884624838656 is common). */
static char *widen_big_ints(const char *buf, size_t len, size_t *out_len) {
    char *o = llm_xmalloc(len * 3 + 1);
    size_t k = 0, i = 0;
    int in_str = 0;
    while (i < len) {
        char c = buf[i];
        if (in_str) {
            o[k++] = c;
            if (c == '\\' && i + 1 < len) o[k++] = buf[++i];
            else if (c == '"') in_str = 0;
            i++;
            continue;
        }
        if (c == '"') in_str = 1;
        size_t j = i;
        while (j < len && buf[j] >= '0' && buf[j] <= '9') j++;
        int starts_number =
            i == 0 || strchr(".eE+-", buf[i - 1]) == NULL ||
            (buf[i - 1] == '-' && (i == 1 || strchr("eE", buf[i - 2]) == NULL));
        if (starts_number && j - i >= 19 && (j == len || (buf[j] != '.' && buf[j] != 'e' && buf[j] != 'E'))) {
            memcpy(o + k, buf + i, j - i);
            k += j - i;
            memcpy(o + k, ".0", 2);
            k += 2;
            i = j;
            continue;
        }
        if (j == i) j = i + 1;
        memcpy(o + k, buf + i, j - i);
        k += j - i;
        i = j;
    }
    *out_len = k;
    return o;
}

int json_util_parse(const char *path, const char *buf, size_t len, json_t **out,
                    LlmError *err) {
    json_error_t je;
    *out = json_loadb(buf, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    if (*out == NULL && strstr(je.text, "too big integer") != NULL) {
        size_t wlen;
        char *w = widen_big_ints(buf, len, &wlen);
        *out = json_loadb(w, wlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        free(w);
    }
    if (*out == NULL)
        return llm_errorf(err, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    return LLM_OK;
}

int json_util_load_file(const char *path, json_t **out, LlmError *err) {
    char *buf;
    size_t len;
    *out = NULL;
    if (file_read_all(path, &buf, &len, err) != LLM_OK) return LLM_ERR;
    int rc = json_util_parse(path, buf, len, out, err);
    free(buf);
    return rc;
}

char *json_util_repr(const json_t *v) {
    if (v == NULL) return llm_xstrdup("nothing");
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (s == NULL) return llm_xstrdup("?");
    if (strlen(s) > 80) strcpy(s + 76, "...");
    char *r = llm_xstrdup(s);
    free(s);
    return r;
}

/* Error: "path: field "f": expected <what>, got <repr>". */
static int bad_field(const char *path, const char *field, const char *what, const json_t *v,
                     LlmError *err) {
    char *r = json_util_repr(v);
    llm_errorf(err, "%s: field \"%s\": expected %s, got %s", path, field, what, r);
    free(r);
    return LLM_ERR;
}

/* Looks field up; returns 1 when present and non-null, 0 when absent and
 * optional, -1 (error set) when absent and required. */
static int lookup(const json_t *obj, const char *path, const char *field, JsonNeed need,
                  json_t **v, LlmError *err) {
    *v = json_is_object(obj) ? json_object_get(obj, field) : NULL;
    if (*v != NULL && !json_is_null(*v)) return 1;
    if (need == JSON_OPTIONAL) return 0;
    llm_errorf(err, "%s: field \"%s\": required but missing", path, field);
    return -1;
}

int json_util_get_int(const json_t *obj, const char *path, const char *field, JsonNeed need,
                 int *out, LlmError *err) {
    json_t *v;
    int k = lookup(obj, path, field, need, &v, err);
    if (k <= 0) return k == 0 ? LLM_OK : LLM_ERR;
    if (!json_is_integer(v) || json_integer_value(v) < -2147483647 ||
        json_integer_value(v) > 2147483647)
        return bad_field(path, field, "an integer", v, err);
    *out = (int)json_integer_value(v);
    return LLM_OK;
}

int json_util_get_pos_int(const json_t *obj, const char *path, const char *field, JsonNeed need,
                     int *out, LlmError *err) {
    json_t *v;
    int k = lookup(obj, path, field, need, &v, err);
    if (k <= 0) return k == 0 ? LLM_OK : LLM_ERR;
    if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
        json_integer_value(v) > 2147483647)
        return bad_field(path, field, "a positive integer", v, err);
    *out = (int)json_integer_value(v);
    return LLM_OK;
}

int json_util_get_float(const json_t *obj, const char *path, const char *field, JsonNeed need,
                   float *out, LlmError *err) {
    json_t *v;
    int k = lookup(obj, path, field, need, &v, err);
    if (k <= 0) return k == 0 ? LLM_OK : LLM_ERR;
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return bad_field(path, field, "a number", v, err);
    *out = (float)json_number_value(v);
    return LLM_OK;
}

int json_util_get_bool(const json_t *obj, const char *path, const char *field, JsonNeed need,
                  int *out, LlmError *err) {
    json_t *v;
    int k = lookup(obj, path, field, need, &v, err);
    if (k <= 0) return k == 0 ? LLM_OK : LLM_ERR;
    if (!json_is_boolean(v)) return bad_field(path, field, "true or false", v, err);
    *out = json_is_true(v) ? 1 : 0;
    return LLM_OK;
}

int json_util_get_string(const json_t *obj, const char *path, const char *field, JsonNeed need,
                    const char **out, LlmError *err) {
    json_t *v;
    int k = lookup(obj, path, field, need, &v, err);
    if (k <= 0) return k == 0 ? LLM_OK : LLM_ERR;
    if (!json_is_string(v)) return bad_field(path, field, "a string", v, err);
    *out = json_string_value(v);
    return LLM_OK;
}
