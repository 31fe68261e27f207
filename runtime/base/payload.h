/* payload.h - the data appended to a compiled executable.
 *
 * A compiled model is one file: the linked program followed by a payload.
 * The payload starts at a page-aligned offset so the weight section can be
 * mapped in place. Layout (all integers little-endian uint64):
 *
 *   [ELF program][zero pad to 4096][weights][tokenizer json][manifest json]
 *   [footer: 8-byte magic "LLMCCPK1", payload_offset, weights_size,
 *            tokenizer_size, manifest_size, 8-byte magic "LLMCCEND"]
 *
 * Sections follow each other in that order from payload_offset. The
 * footer is exactly PAYLOAD_FOOTER_BYTES.
 */
#ifndef LLMCC_BASE_PAYLOAD_H
#define LLMCC_BASE_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/mapped_file.h"

#define PAYLOAD_ALIGN 4096
#define PAYLOAD_FOOTER_BYTES 48

typedef struct Payload {
    MappedFile file;         /* the whole executable, mapped */
    const uint8_t *weights;  /* [weights_size], PAYLOAD_ALIGN aligned */
    size_t weights_size;
    const char *tokenizer;   /* [tokenizer_size] JSON text, not NUL-terminated */
    size_t tokenizer_size;
    const char *manifest;    /* [manifest_size] JSON text, not NUL-terminated */
    size_t manifest_size;
} Payload;

/* Maps path (the running executable: "/proc/self/exe") and finds the
 * sections. Errors name the file and what is wrong with the footer. */
int payload_open(Payload *p, const char *path, LlmError *err);
void payload_close(Payload *p);

/* Appends a payload to an existing executable file at exe_path. */
int payload_append(const char *exe_path, const uint8_t *weights, size_t weights_size,
                   const char *tokenizer, size_t tokenizer_size, const char *manifest,
                   size_t manifest_size, LlmError *err);

/* The weight_hash the compiler stores in LlmProgram and the runtime checks
 * at load: the XOR of the weight section read as little-endian uint64
 * words, the last partial word (size % 8 bytes) zero-padded, then XORed with
 * the byte size so that trailing zero words still change the hash. It is a
 * cheap guard against a payload packed for another build, not a checksum
 * against tampering. The compiler packs with this same function. */
uint64_t payload_weight_hash(const uint8_t *data, size_t size);

#endif
