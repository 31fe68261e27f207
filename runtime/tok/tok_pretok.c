/* tok_pretok.c - pre-tokenization: regex splitting and the GPT-2 byte map.
 *
 * The pre-tokenizer is a list of PCRE2 regexes (UTF + Unicode properties,
 * invalid UTF-8 tolerated: such bytes never match and end up in the gaps).
 * Each regex splits every piece left by the previous one into its matches
 * and the gaps between them, all kept ("isolated" in HF terms), the way
 * llama.cpp applies its regex lists and HF applies Split/Digits/ByteLevel.
 * Which regexes a GGUF "tokenizer.ggml.pre" name means was learned from
 * llama.cpp's llama-vocab.cpp; the tables below are our own transcription.
 * "smollm" splits every \p{N} char first, as llama.cpp does and as the
 * model's own tokenizer.json does (Digits individual_digits). transformers'
 * GGUF loader drops that split; the two differ only where a non-ASCII
 * number char follows a space (" \\x{00bd}": 1 of 2891 WikiText-2 lines).
 */
#include <string.h>

#include "tok/tok_internal.h"

#define PRE_GPT2 TOK_REGEX_GPT2
#define PRE_LLAMA3_HEAD                                                       \
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|"              \
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
#define PRE_LLAMA3_TAIL                                                       \
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* deepseek-llm: letters of the scripts that have case (a fixed list of
 * ranges rather than \p{L}, so CJK and Hangul fall through to their own
 * regex), ASCII and full-width punctuation, trailing space, CJK runs,
 * digit runs; every CR and LF first becomes its own piece. */
#define PRE_DEEPSEEK_LETTERS \
    "\\s?[A-Za-z\\x{00b5}\\x{00c0}-\\x{00d6}\\x{00d8}-\\x{00f6}\\x{00f8}-\\x{01ba}" \
    "\\x{01bc}-\\x{01bf}\\x{01c4}-\\x{0293}\\x{0295}-\\x{02af}\\x{0370}-\\x{0373}" \
    "\\x{0376}\\x{0377}\\x{037b}-\\x{037d}\\x{037f}\\x{0386}\\x{0388}-\\x{038a}\\x{038c}" \
    "\\x{038e}-\\x{03a1}\\x{03a3}-\\x{03f5}\\x{03f7}-\\x{0481}\\x{048a}-\\x{052f}" \
    "\\x{0531}-\\x{0556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}\\x{13f8}-\\x{13fd}" \
    "\\x{1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}\\x{1d6b}-\\x{1d77}" \
    "\\x{1d79}-\\x{1d9a}\\x{1e00}-\\x{1f15}\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}" \
    "\\x{1f48}-\\x{1f4d}\\x{1f50}-\\x{1f57}\\x{1f59}\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}" \
    "\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}" \
    "\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}\\x{1fe0}-\\x{1fec}" \
    "\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-\\x{2113}\\x{2115}" \
    "\\x{2119}-\\x{211d}\\x{2124}\\x{2126}\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-\\x{2134}" \
    "\\x{2139}\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}" \
    "\\x{2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}" \
    "\\x{a640}-\\x{a66d}\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}\\x{a771}-\\x{a787}" \
    "\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{abbf}\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}" \
    "\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{10400}-\\x{1044f}\\x{104b0}-\\x{104d3}" \
    "\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}-\\x{10cf2}\\x{118a0}-\\x{118df}" \
    "\\x{1e900}-\\x{1e943}]+"
#define PRE_DEEPSEEK_PUNCT \
    "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+"
#define PRE_DEEPSEEK_CJK "[\\x{4e00}-\\x{9fa5}\\x{0800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+"

/* falcon: punctuation runs first, then GPT-2 without its final "\s+"
 * branch, then every run of three ASCII digits. */
#define PRE_FALCON_PUNCT "[\\p{P}\\$\\+<=>\\^~\\|`]+"
#define PRE_FALCON_GPT2                                                       \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"

#define PRE_MAX 6
typedef struct PreName {
    const char *name;           /* tokenizer.ggml.pre value */
    const char *regex[PRE_MAX]; /* regexes applied in order; NULL ends */
} PreName;

static const PreName pre_names[] = {
    {"default", {PRE_GPT2, NULL}},
    {"gpt-2", {PRE_GPT2, NULL}},
    {"gpt2", {PRE_GPT2, NULL}},
    {"phi-2", {PRE_GPT2, NULL}},
    {"jina-es", {PRE_GPT2, NULL}},
    {"smollm", {"\\p{N}", PRE_GPT2}},
    {"starcoder", {"\\p{N}", PRE_GPT2}},
    {"refact", {"\\p{N}", PRE_GPT2}},
    {"command-r", {"\\p{N}", PRE_GPT2}},
    {"codeshell", {"\\p{N}", PRE_GPT2}},
    {"llama3", {PRE_LLAMA3_HEAD "\\p{N}{1,3}" PRE_LLAMA3_TAIL, NULL}},
    {"llama-bpe", {PRE_LLAMA3_HEAD "\\p{N}{1,3}" PRE_LLAMA3_TAIL, NULL}},
    {"llama-v3", {PRE_LLAMA3_HEAD "\\p{N}{1,3}" PRE_LLAMA3_TAIL, NULL}},
    {"smaug-bpe", {PRE_LLAMA3_HEAD "\\p{N}{1,3}" PRE_LLAMA3_TAIL, NULL}},
    {"dbrx", {PRE_LLAMA3_HEAD "\\p{N}{1,3}" PRE_LLAMA3_TAIL, NULL}},
    {"qwen2", {PRE_LLAMA3_HEAD "\\p{N}" PRE_LLAMA3_TAIL, NULL}},
    {"stablelm2", {PRE_LLAMA3_HEAD "\\p{N}" PRE_LLAMA3_TAIL, NULL}},
    {"deepseek-r1-qwen", {PRE_LLAMA3_HEAD "\\p{N}" PRE_LLAMA3_TAIL, NULL}},
    {"deepseek-llm", {"[\\r\\n]", PRE_DEEPSEEK_LETTERS, PRE_DEEPSEEK_PUNCT, "\\s+\\z",
                      PRE_DEEPSEEK_CJK, "\\p{N}+"}},
    {"falcon", {PRE_FALCON_PUNCT, PRE_FALCON_GPT2, "[0-9][0-9][0-9]", NULL}},
};

int tok_pretok_add_regex(Tokenizer *t, const char *pattern, const char *src, LlmError *err) {
    if (t->n_regex == TOK_MAX_REGEX)
        return llm_errorf(err, "%s: more than %d pre-tokenizer regexes", src, TOK_MAX_REGEX);
    int code = 0;
    PCRE2_SIZE off = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF,
                                   &code, &off, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        return llm_errorf(err, "%s: pre-tokenizer regex \"%.200s\" at offset %zu: %s", src,
                          pattern, (size_t)off, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    t->regex[t->n_regex++] = re;
    return LLM_OK;
}

int tok_pretok_add_named(Tokenizer *t, const char *pre, LlmError *err) {
    for (size_t i = 0; i < sizeof pre_names / sizeof pre_names[0]; i++) {
        if (strcmp(pre_names[i].name, pre) != 0) continue;
        for (int k = 0; k < PRE_MAX && pre_names[i].regex[k]; k++) {
            if (tok_pretok_add_regex(t, pre_names[i].regex[k], "GGUF metadata", err))
                return LLM_ERR;
        }
        return LLM_OK;
    }
    return llm_errorf(err, "GGUF metadata: tokenizer.ggml.pre \"%.100s\" is not supported", pre);
}

typedef struct PretokRun {
    const Tokenizer *t;           /* regex source */
    pcre2_match_data *md[TOK_MAX_REGEX]; /* one per level */
    TokPieceFn fn;                /* receives the final pieces */
    void *ctx;                    /* fn's context */
} PretokRun;

static void pretok_level(PretokRun *r, int level, const char *s, size_t len) {
    if (len == 0) return;
    if (level == r->t->n_regex) {
        r->fn(r->ctx, s, len);
        return;
    }
    size_t pos = 0, gap = 0;
    while (pos < len) {
        int rc = pcre2_match(r->t->regex[level], (PCRE2_SPTR)s, len, pos, 0, r->md[level], NULL);
        if (rc < 0) break;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(r->md[level]);
        size_t a = (size_t)ov[0], b = (size_t)ov[1];
        if (b == a) { /* empty match: step over one char */
            pos = a + tok_utf8_len(s + a, len - a);
            continue;
        }
        pretok_level(r, level + 1, s + gap, a - gap);
        pretok_level(r, level + 1, s + a, b - a);
        gap = pos = b;
    }
    pretok_level(r, level + 1, s + gap, len - gap);
}

void tok_pretok_split(const Tokenizer *t, const char *s, size_t len, TokPieceFn fn, void *ctx) {
    PretokRun r = {t, {NULL}, fn, ctx};
    for (int i = 0; i < t->n_regex; i++)
        r.md[i] = pcre2_match_data_create_from_pattern(t->regex[i], NULL);
    pretok_level(&r, 0, s, len);
    for (int i = 0; i < t->n_regex; i++) pcre2_match_data_free(r.md[i]);
}

static int byte_is_printable(int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

uint32_t tok_byte_to_cp(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t n = 0;
    for (int i = 0; i < b; i++) n += !byte_is_printable(i);
    return 256 + n;
}

int tok_cp_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable((int)cp) ? (int)cp : -1;
    uint32_t n = 0;
    for (int i = 0; i < 256; i++) {
        if (byte_is_printable(i)) continue;
        if (256 + n == cp) return i;
        n++;
    }
    return -1;
}

size_t tok_utf8_len(const char *s, size_t avail) {
    uint8_t c = (uint8_t)s[0];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || n > avail) return 1;
    for (size_t i = 1; i < n; i++)
        if (((uint8_t)s[i] & 0xC0) != 0x80) return 1;
    return n;
}
