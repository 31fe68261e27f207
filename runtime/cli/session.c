/* session.c - build and tear down a CliSession (see session.h).
 *
 * Order: program sanity, payload, weight checks, manifest, tokenizer, thread
 * pool, arena, KV pool. session_close frees whatever was built, so every
 * error path in session_open is "close and return".
 */
#include "cli/session.h"

#include <stdlib.h>
#include <string.h>

int session_check_program(const LlmProgram *prog, LlmError *err) {
    if (prog->abi_version != LLM_PROGRAM_ABI)
        return llm_errorf(err, "program ABI version %d, this runtime speaks %d: rebuild the model "
                          "with a matching llmcc", prog->abi_version, LLM_PROGRAM_ABI);
    if (prog->vocab_size <= 0 || prog->max_tokens <= 0 || prog->max_context <= 0 ||
        prog->block_size <= 0 || prog->forward == NULL ||
        (long)prog->max_blocks_per_seq * prog->block_size < prog->max_context)
        return llm_errorf(err, "program: inconsistent shapes (vocab %d, max_tokens %d, "
                          "max_context %d, block_size %d, max_blocks_per_seq %d)",
                          prog->vocab_size, prog->max_tokens, prog->max_context, prog->block_size,
                          prog->max_blocks_per_seq);
    return LLM_OK;
}

static int check_weights(const CliSession *s, LlmError *err) {
    const LlmProgram *prog = s->prog;
    const Payload *p = &s->payload;
    const char *path = p->file.path;
    if (p->weights_size != prog->weight_bytes)
        return llm_errorf(err, "%s: weight section is %zu bytes, the program expects %zu", path,
                          p->weights_size, prog->weight_bytes);
    size_t align = prog->weight_align ? prog->weight_align : 1;
    if ((align & (align - 1)) != 0 || align > PAYLOAD_ALIGN)
        return llm_errorf(err, "program: weight_align %zu is not a power of two <= %d", align,
                          PAYLOAD_ALIGN);
    uint64_t h = payload_weight_hash(p->weights, p->weights_size);
    if (h != prog->weight_hash)
        return llm_errorf(err, "%s: weight hash %016llx, the program expects %016llx (payload "
                          "from another build?)", path, (unsigned long long)h,
                          (unsigned long long)prog->weight_hash);
    return LLM_OK;
}

/* The payload's manifest, else the program's copy, else none. */
static int load_manifest(CliSession *s, LlmError *err) {
    const char *text = s->payload.manifest;
    size_t len = s->payload.manifest_size;
    if (len == 0 && s->prog->manifest_json != NULL) {
        text = s->prog->manifest_json;
        len = strlen(text);
    }
    if (len == 0) return LLM_OK;
    json_error_t je;
    s->manifest = json_loadb(text, len, 0, &je);
    if (s->manifest == NULL || !json_is_object(s->manifest))
        return llm_errorf(err, "%s: manifest: not a JSON object (line %d: %s)",
                          s->payload.file.path, je.line, s->manifest ? "not an object" : je.text);
    return LLM_OK;
}

static int load_tokenizer(CliSession *s, LlmError *err) {
    const Payload *p = &s->payload;
    if (p->tokenizer_size == 0) return llm_errorf(err, "%s: payload has no tokenizer", p->file.path);
    if (tok_load_json(p->tokenizer, p->tokenizer_size, &s->tok, err) != LLM_OK)
        return llm_error_prefix(err, "%s: embedded tokenizer", p->file.path);
    int n = tok_vocab_size(s->tok);
    if (n > s->prog->vocab_size)
        return llm_errorf(err, "%s: tokenizer has %d tokens, the model's vocabulary only %d",
                          p->file.path, n, s->prog->vocab_size);
    return LLM_OK;
}

static int alloc_buffers(CliSession *s, const SessionOptions *opt, LlmError *err) {
    s->pool = threadpool_create(opt->n_threads);
    size_t arena = (s->prog->arena_bytes + 63) / 64 * 64;
    s->arena = aligned_alloc(64, arena ? arena : 64);
    if (s->arena == NULL)
        return llm_errorf(err, "cannot allocate the %zu-byte activation arena", arena);
    KvCacheShape shape = kv_shape_from_program(s->prog);
    int n_blocks = 0;
    if (kv_cache_blocks_for_budget(&shape, opt->kv_memory, "--kv-memory", &n_blocks, err) != LLM_OK)
        return LLM_ERR;
    return kv_cache_init(&s->kv, &shape, n_blocks, opt->max_seqs > 0 ? opt->max_seqs : 1, err);
}

int session_open(CliSession *s, const LlmProgram *prog, const SessionOptions *opt, LlmError *err) {
    memset(s, 0, sizeof *s);
    s->prog = prog;
    if (session_check_program(prog, err) != LLM_OK) return LLM_ERR;
    if (payload_open(&s->payload, opt->payload_path, err) != LLM_OK) return LLM_ERR;
    if (check_weights(s, err) != LLM_OK || load_manifest(s, err) != LLM_OK ||
        load_tokenizer(s, err) != LLM_OK || alloc_buffers(s, opt, err) != LLM_OK) {
        session_close(s);
        return LLM_ERR;
    }
    return LLM_OK;
}

void session_close(CliSession *s) {
    if (s->kv.seqs != NULL) kv_cache_free(&s->kv);
    free(s->arena);
    if (s->pool != NULL) threadpool_destroy(s->pool);
    if (s->tok != NULL) tok_free(s->tok);
    if (s->manifest != NULL) json_decref(s->manifest);
    if (s->payload.file.path != NULL) payload_close(&s->payload);
    memset(s, 0, sizeof *s);
}

LlmForwardCtx session_forward_ctx(const CliSession *s) {
    LlmForwardCtx ctx = {
        .weights = s->payload.weights,
        .arena = s->arena,
        .kv = kv_cache_view(&s->kv),
        .pool = s->pool,
    };
    return ctx;
}
