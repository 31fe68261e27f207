/* payload.c - find, validate and append the payload of a compiled model.
 *
 * Reads the 48-byte footer at the end of the file and checks every field
 * against the file size before any section pointer is formed, so a
 * truncated or foreign file gives a message and never an out-of-bounds
 * read. Does not interpret the sections (the tokenizer and the manifest are
 * parsed by their users). Invariant after payload_open: payload_offset is
 * PAYLOAD_ALIGN aligned and offset + sections + footer == file size.
 */
#include "base/payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char PAYLOAD_MAGIC_HEAD[8] = {'L', 'L', 'M', 'C', 'C', 'P', 'K', '1'};
static const char PAYLOAD_MAGIC_TAIL[8] = {'L', 'L', 'M', 'C', 'C', 'E', 'N', 'D'};

/* The decoded footer. */
typedef struct PayloadFooter {
    uint64_t payload_offset; /* bytes from file start to the weight section */
    uint64_t weights_size;   /* bytes */
    uint64_t tokenizer_size; /* bytes */
    uint64_t manifest_size;  /* bytes */
} PayloadFooter;

static uint64_t read_u64_le(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void write_u64_le(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t payload_weight_hash(const uint8_t *data, size_t size) {
    uint64_t h = 0;
    size_t n_words = size / 8;
    for (size_t i = 0; i < n_words; i++) h ^= read_u64_le(data + 8 * i);
    size_t tail = size % 8;
    if (tail > 0) {
        uint8_t last[8] = {0};
        memcpy(last, data + 8 * n_words, tail);
        h ^= read_u64_le(last);
    }
    return h ^ (uint64_t)size;
}

/* Decodes and checks the footer of a file of file_size bytes. */
static int footer_parse(const uint8_t *data, size_t file_size, const char *path,
                        PayloadFooter *f, LlmError *err) {
    if (file_size < PAYLOAD_FOOTER_BYTES)
        return llm_errorf(err, "%s: no payload: file is %zu bytes, smaller than the %d-byte footer",
                          path, file_size, PAYLOAD_FOOTER_BYTES);
    const uint8_t *foot = data + file_size - PAYLOAD_FOOTER_BYTES;
    if (memcmp(foot, PAYLOAD_MAGIC_HEAD, 8) != 0 || memcmp(foot + 40, PAYLOAD_MAGIC_TAIL, 8) != 0)
        return llm_errorf(err, "%s: no payload: footer magic is not LLMCCPK1...LLMCCEND "
                          "(not a compiled llmcc model, or the file was truncated)", path);
    f->payload_offset = read_u64_le(foot + 8);
    f->weights_size = read_u64_le(foot + 16);
    f->tokenizer_size = read_u64_le(foot + 24);
    f->manifest_size = read_u64_le(foot + 32);
    uint64_t body = (uint64_t)file_size - PAYLOAD_FOOTER_BYTES;
    if (f->payload_offset % PAYLOAD_ALIGN != 0 || f->payload_offset > body)
        return llm_errorf(err, "%s: payload footer: payload_offset %llu is not a multiple of %d "
                          "inside the file (%zu bytes)", path,
                          (unsigned long long)f->payload_offset, PAYLOAD_ALIGN, file_size);
    uint64_t room = body - f->payload_offset;
    if (f->weights_size > room || f->tokenizer_size > room - f->weights_size ||
        f->manifest_size != room - f->weights_size - f->tokenizer_size)
        return llm_errorf(err, "%s: payload footer: section sizes weights %llu + tokenizer %llu + "
                          "manifest %llu do not fill the %llu bytes between offset %llu and the footer",
                          path, (unsigned long long)f->weights_size,
                          (unsigned long long)f->tokenizer_size, (unsigned long long)f->manifest_size,
                          (unsigned long long)room, (unsigned long long)f->payload_offset);
    return LLM_OK;
}

int payload_open(Payload *p, const char *path, LlmError *err) {
    memset(p, 0, sizeof *p);
    if (mapped_file_open(&p->file, path, err) != LLM_OK) return LLM_ERR;
    PayloadFooter f = {0}; /* gcc -O2 cannot see that footer_parse fills it on success */
    if (footer_parse(p->file.data, p->file.size, path, &f, err) != LLM_OK) {
        mapped_file_close(&p->file);
        return LLM_ERR;
    }
    const uint8_t *base = p->file.data + f.payload_offset;
    p->weights = base;
    p->weights_size = (size_t)f.weights_size;
    p->tokenizer = (const char *)(base + f.weights_size);
    p->tokenizer_size = (size_t)f.tokenizer_size;
    p->manifest = p->tokenizer + f.tokenizer_size;
    p->manifest_size = (size_t)f.manifest_size;
    return LLM_OK;
}

void payload_close(Payload *p) {
    mapped_file_close(&p->file);
    memset(p, 0, sizeof *p);
}

/* Writes n bytes or names the output path and the OS reason. */
static int write_all(FILE *f, const void *data, size_t n, const char *path, const char *what,
                     LlmError *err) {
    if (n > 0 && fwrite(data, 1, n, f) != n)
        return llm_errorf(err, "%s: cannot write the %s (%zu bytes): %s", path, what, n,
                          strerror(errno));
    return LLM_OK;
}

static int write_zero_pad(FILE *f, size_t n, const char *path, LlmError *err) {
    static const uint8_t zeros[256];
    while (n > 0) {
        size_t k = n < sizeof zeros ? n : sizeof zeros;
        if (write_all(f, zeros, k, path, "alignment padding", err) != LLM_OK) return LLM_ERR;
        n -= k;
    }
    return LLM_OK;
}

static int append_sections(FILE *f, const char *path, size_t offset, const uint8_t *weights,
                           size_t weights_size, const char *tokenizer, size_t tokenizer_size,
                           const char *manifest, size_t manifest_size, LlmError *err) {
    if (write_all(f, weights, weights_size, path, "weight section", err) != LLM_OK ||
        write_all(f, tokenizer, tokenizer_size, path, "tokenizer section", err) != LLM_OK ||
        write_all(f, manifest, manifest_size, path, "manifest section", err) != LLM_OK)
        return LLM_ERR;
    uint8_t foot[PAYLOAD_FOOTER_BYTES];
    memcpy(foot, PAYLOAD_MAGIC_HEAD, 8);
    write_u64_le(foot + 8, (uint64_t)offset);
    write_u64_le(foot + 16, (uint64_t)weights_size);
    write_u64_le(foot + 24, (uint64_t)tokenizer_size);
    write_u64_le(foot + 32, (uint64_t)manifest_size);
    memcpy(foot + 40, PAYLOAD_MAGIC_TAIL, 8);
    return write_all(f, foot, sizeof foot, path, "payload footer", err);
}

int payload_append(const char *exe_path, const uint8_t *weights, size_t weights_size,
                   const char *tokenizer, size_t tokenizer_size, const char *manifest,
                   size_t manifest_size, LlmError *err) {
    FILE *f = fopen(exe_path, "ab");
    if (f == NULL)
        return llm_errorf(err, "%s: cannot open for appending the payload: %s", exe_path,
                          strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return llm_errorf(err, "%s: not a regular file", exe_path);
    }
    size_t size = (size_t)st.st_size;
    size_t offset = (size + PAYLOAD_ALIGN - 1) / PAYLOAD_ALIGN * PAYLOAD_ALIGN;
    int rc = write_zero_pad(f, offset - size, exe_path, err);
    if (rc == LLM_OK)
        rc = append_sections(f, exe_path, offset, weights, weights_size, tokenizer,
                             tokenizer_size, manifest, manifest_size, err);
    if (fclose(f) != 0 && rc == LLM_OK)
        rc = llm_errorf(err, "%s: cannot finish writing the payload: %s", exe_path,
                        strerror(errno));
    return rc;
}
