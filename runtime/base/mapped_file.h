/* mapped_file.h - read-only memory mapping of a whole file.
 *
 * Loaders read tensors in place from the mapping; nothing is copied. A
 * zero-length file maps to data == NULL, size == 0.
 */
#ifndef LLMCC_BASE_MAPPED_FILE_H
#define LLMCC_BASE_MAPPED_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct MappedFile {
    char *path;          /* owned copy of the path, for messages */
    const uint8_t *data; /* [size] bytes, read-only; NULL when size == 0 */
    size_t size;         /* file size in bytes */
} MappedFile;

/* Maps path read-only. On failure names the path and the OS reason. */
int mapped_file_open(MappedFile *mf, const char *path, LlmError *err);
void mapped_file_close(MappedFile *mf);

/* Reads a whole (small) file into a NUL-terminated heap buffer. */
int file_read_all(const char *path, char **out, size_t *out_len, LlmError *err);

#endif
