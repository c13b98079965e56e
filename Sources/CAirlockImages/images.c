#define _GNU_SOURCE
#include "airlock_images.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zlib.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct airlock_img_open_how { uint64_t flags; uint64_t mode; uint64_t resolve; };

int airlock_img_open_strict(int dirfd, const char *path, int flags, unsigned int mode) {
    struct airlock_img_open_how how = {
        .flags = (uint64_t)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        // BENEATH 0x08, NO_SYMLINKS 0x04, NO_MAGICLINKS 0x02, NO_XDEV 0x01
        .resolve = 0x08 | 0x04 | 0x02 | 0x01,
    };
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    return (int)fd;
}

struct airlock_gunzip { z_stream stream; int live; };

airlock_gunzip *airlock_gunzip_new(void) {
    airlock_gunzip *z = calloc(1, sizeof(*z));
    if (!z) return NULL;
    // 15 + 32: detect gzip or zlib headers automatically.
    if (inflateInit2(&z->stream, 15 + 32) != Z_OK) { free(z); return NULL; }
    z->live = 1;
    return z;
}

void airlock_gunzip_free(airlock_gunzip *z) {
    if (!z) return;
    if (z->live) inflateEnd(&z->stream);
    free(z);
}

int airlock_gunzip_step(airlock_gunzip *z, const unsigned char *in, size_t in_len, size_t *consumed,
                        unsigned char *out, size_t out_cap, size_t *produced) {
    z->stream.next_in = (Bytef *)in;
    z->stream.avail_in = (uInt)in_len;
    z->stream.next_out = out;
    z->stream.avail_out = (uInt)out_cap;
    int rc = inflate(&z->stream, Z_NO_FLUSH);
    *consumed = in_len - z->stream.avail_in;
    *produced = out_cap - z->stream.avail_out;
    if (rc == Z_STREAM_END) {
        // Another member may follow (concatenated gzip); the caller decides.
        inflateReset(&z->stream);
        return 1;
    }
    if (rc == Z_OK || rc == Z_BUF_ERROR) return 0;
    return -1;
}
