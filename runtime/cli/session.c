/* session.c - build and tear down a CliSession (see session.h).
 *
 * Order: program sanity, payload, weight checks, manifest, tokenizer, thread
 * pool, arena, KV pool. session_close frees whatever was built, so every
 * error path in session_open is "close and return".
 */
#include "cli/session.h"

#include "engine/engine_step.h"

#include <stdlib.h>
#include <string.h>

int session_check_program(const LlmProgram *prog, LlmError *err) {
    if (prog->abi_version != LLM_PROGRAM_ABI || prog->engine == NULL)
        return llm_errorf(err, "program ABI version %d, this runtime speaks %d: rebuild the model "
                          "with a matching llmcc", prog->abi_version, LLM_PROGRAM_ABI);
    if (prog->vocab_size <= 0 || prog->max_tokens <= 0 || prog->max_context <= 0 ||
        prog->block_size <= 0 || prog->engine == NULL ||
        (prog->forward == NULL && prog->forward_cuda == NULL) ||
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

/* Opens the target's engine and sizes the KV pool: --kv-memory when given
 * (bytes, or a fraction of the device memory that is free, or of host
 * MemAvailable when the engine reports no limit), else one full-context
 * sequence; on a device, never past what is free. */
static int open_engine(CliSession *s, const SessionOptions *opt, LlmError *err) {
    const LlmProgram *p = s->prog;
    LlmEngineConfig cfg = {.n_threads = opt->n_threads, .max_seqs = opt->max_seqs > 0 ? opt->max_seqs : 1};
    if (p->engine->open(p, s->payload.weights, &cfg, &s->engine, err) != LLM_OK) return LLM_ERR;
    KvCacheShape shape = kv_shape_from_program(p);
    int n_blocks = 0;
    size_t cap = p->engine->kv_capacity(s->engine), avail = cap;
    if (opt->kv_memory.kind == KV_BUDGET_FRACTION && cap == 0 &&
        kv_budget_host_available(&avail, err) != LLM_OK)
        return llm_error_prefix(err, "--kv-memory %g", opt->kv_memory.fraction);
    if (kv_budget_blocks(&opt->kv_memory, &shape, cfg.max_seqs, avail, "--kv-memory", &n_blocks,
                         err) != LLM_OK)
        return LLM_ERR;
    size_t need = kv_cache_block_bytes(&shape) * (size_t)n_blocks;
    if (cap > 0 && need > cap)
        return llm_errorf(err, "not enough device memory for the KV cache: %d blocks need %.1f MiB, "
                          "%.1f MiB are free after the weights (lower --kv-memory or --max-context)",
                          n_blocks, (double)need / 1048576.0, (double)cap / 1048576.0);
    if (p->engine->alloc_kv(s->engine, n_blocks, err) != LLM_OK) return LLM_ERR;
    return kv_cache_init(&s->kv, &shape, n_blocks, cfg.max_seqs, err);
}

int session_open(CliSession *s, const LlmProgram *prog, const SessionOptions *opt, LlmError *err) {
    memset(s, 0, sizeof *s);
    s->prog = prog;
    if (session_check_program(prog, err) != LLM_OK) return LLM_ERR;
    if (payload_open(&s->payload, opt->payload_path, err) != LLM_OK) return LLM_ERR;
    int all = opt->parts == SESSION_PARTS_ALL;
    if ((all && check_weights(s, err) != LLM_OK) || load_manifest(s, err) != LLM_OK ||
        load_tokenizer(s, err) != LLM_OK || (all && open_engine(s, opt, err) != LLM_OK)) {
        session_close(s);
        return LLM_ERR;
    }
    return LLM_OK;
}

void session_close(CliSession *s) {
    if (s->kv.seqs != NULL) kv_cache_free(&s->kv);
    if (s->engine != NULL) s->prog->engine->close(s->engine);
    if (s->tok != NULL) tok_free(s->tok);
    if (s->manifest != NULL) json_decref(s->manifest);
    if (s->payload.file.path != NULL) payload_close(&s->payload);
    memset(s, 0, sizeof *s);
}

int session_step(CliSession *s, const LlmBatch *b, const LlmStepSample *sample, LlmError *err) {
    return engine_step_kv(s->prog->engine, s->engine, &s->kv, b, sample, err);
}
