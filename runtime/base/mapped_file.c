/* mapped_file.c - mmap wrapper and whole-file reads with named errors. */
#include "base/mapped_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int mapped_file_open(MappedFile *mf, const char *path, LlmError *err) {
    memset(mf, 0, sizeof *mf);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return llm_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return llm_errorf(err, "%s: not a regular file", path);
    }
    mf->size = (size_t)st.st_size;
    if (mf->size > 0) {
        void *p = mmap(NULL, mf->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return llm_errorf(err, "%s: cannot mmap: %s", path, strerror(errno));
        }
        mf->data = p;
    }
    close(fd);
    mf->path = llm_xstrdup(path);
    return LLM_OK;
}

void mapped_file_close(MappedFile *mf) {
    if (mf->data != NULL) munmap((void *)(uintptr_t)mf->data, mf->size);
    free(mf->path);
    memset(mf, 0, sizeof *mf);
}

int file_read_all(const char *path, char **out, size_t *out_len, LlmError *err) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return llm_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = llm_xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap) buf = llm_xrealloc(buf, cap *= 2);
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return llm_errorf(err, "%s: read error", path);
    }
    buf[len] = '\0';
    *out = buf;
    if (out_len) *out_len = len;
    return LLM_OK;
}
