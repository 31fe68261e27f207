/* cmd_info.c - `info`: the manifest (pretty-printed JSON) and the memory
 * plan the runtime derived from the program and the options. */
#include <stdlib.h>

#include <string.h>

#include "cli/commands.h"

static void print_program(FILE *out, const LlmProgram *p) {
    fprintf(out, "program:\n");
    fprintf(out, "  target              %s\n", p->target ? p->target : "?");
    fprintf(out, "  abi version         %d\n", p->abi_version);
    fprintf(out, "  vocab size          %d\n", p->vocab_size);
    fprintf(out, "  hidden size         %d\n", p->hidden_size);
    fprintf(out, "  layers              %d\n", p->n_layers);
    fprintf(out, "  kv heads x head dim %d x %d\n", p->n_kv_heads, p->head_dim);
    fprintf(out, "  max context         %d tokens\n", p->max_context);
    fprintf(out, "  max tokens / step   %d\n", p->max_tokens);
    fprintf(out, "  weight bytes        %zu (align %zu, hash %016llx)\n", p->weight_bytes,
            p->weight_align, (unsigned long long)p->weight_hash);
}

/* The generated kernels: op, name, launches per forward step. */
static void print_kernels(FILE *out, const CliSession *s) {
    if (s->prog->kernels == NULL || s->prog->kernels[0] == '\0') return;
    fprintf(out, "kernels (op, name, launches per step):\n");
    for (const char *line = s->prog->kernels; *line;) {
        const char *nl = strchr(line, '\n');
        int len = nl ? (int)(nl - line) : (int)strlen(line);
        fprintf(out, "  %.*s\n", len, line);
        line += len + (nl ? 1 : 0);
    }
}

static void print_memory_plan(FILE *out, const CliSession *s) {
    const KvCache *kv = &s->kv;
    double mib = 1024.0 * 1024.0;
    fprintf(out, "memory plan:\n");
    fprintf(out, "  arena               %zu bytes (%.2f MiB)\n", s->prog->arena_bytes,
            (double)s->prog->arena_bytes / mib);
    fprintf(out, "  kv block            %d tokens, %zu bytes (K+V, all layers, %zu-byte elements)\n",
            kv->shape.block_size, kv->block_bytes, kv->shape.elem_bytes);
    fprintf(out, "  kv pool             %d blocks, %zu bytes (%.2f MiB), %ld tokens\n", kv->n_blocks,
            kv->block_bytes * (size_t)kv->n_blocks,
            (double)(kv->block_bytes * (size_t)kv->n_blocks) / mib,
            (long)kv->n_blocks * kv->shape.block_size);
    char dev[256];
    s->prog->engine->describe(s->engine, dev, sizeof dev);
    fprintf(out, "  device              %s\n", dev);
}

static void print_tokenizer(FILE *out, const Tokenizer *t) {
    fprintf(out, "tokenizer:\n");
    fprintf(out, "  kind                %s\n", tok_kind_name(t));
    fprintf(out, "  vocab size          %d\n", tok_vocab_size(t));
    fprintf(out, "  bos / eos           %d / %d (add bos: %s)\n", tok_bos_id(t), tok_eos_id(t),
            tok_add_bos_default(t) ? "yes" : "no");
}

int cmd_info(CliSession *s, const CliArgs *a, FILE *out, LlmError *err) {
    (void)a;
    (void)err;
    fprintf(out, "manifest:\n");
    if (s->manifest != NULL) {
        char *text = json_dumps(s->manifest, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fprintf(out, "%s\n", text ? text : "(unprintable)");
        free(text);
    } else {
        fprintf(out, "(none)\n");
    }
    print_program(out, s->prog);
    print_tokenizer(out, s->tok);
    print_kernels(out, s);
    print_memory_plan(out, s);
    fflush(out);
    return LLM_OK;
}
