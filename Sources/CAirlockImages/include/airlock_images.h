#ifndef AIRLOCK_IMAGES_H
#define AIRLOCK_IMAGES_H

#include <stddef.h>

/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
/// RESOLVE_NO_XDEV: `path` cannot leave `dirfd` nor pass through any symlink (ELOOP),
/// even one swapped in during the call. Returns the fd or -1 with errno.
int airlock_img_open_strict(int dirfd, const char *path, int flags, unsigned int mode);

/// A gzip (or zlib) decoder over zlib's inflate, multi-member aware. The macros zlib
/// exposes (inflateInit2) cannot be called from Swift, hence this shim.
typedef struct airlock_gunzip airlock_gunzip;

airlock_gunzip *airlock_gunzip_new(void);
void airlock_gunzip_free(airlock_gunzip *z);

/// Feeds `in`/`in_len` and fills `out` (capacity `out_cap`). Sets *consumed and *produced.
/// Returns 0 to go on, 1 when the (last) member ended, -1 on corrupt data.
int airlock_gunzip_step(airlock_gunzip *z, const unsigned char *in, size_t in_len, size_t *consumed,
                        unsigned char *out, size_t out_cap, size_t *produced);

#endif
