#define _GNU_SOURCE
#include "airlock_confine.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

// Landlock's UAPI, spelled out so the shim builds against older kernel headers.
#define LL_CREATE 444
#define LL_ADD_RULE 445
#define LL_RESTRICT 446
#define LL_RULE_PATH_BENEATH 1

#define FS_EXECUTE (1ULL << 0)
#define FS_WRITE_FILE (1ULL << 1)
#define FS_READ_FILE (1ULL << 2)
#define FS_READ_DIR (1ULL << 3)
#define FS_TRUNCATE (1ULL << 14)
#define FS_IOCTL_DEV (1ULL << 15)
#define NET_BIND_TCP (1ULL << 0)
#define NET_CONNECT_TCP (1ULL << 1)
#define SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define SCOPE_SIGNAL (1ULL << 1)

struct ll_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct ll_path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/// Every file access right `abi` knows.
static uint64_t fs_rights(int abi) {
    uint64_t rights = (1ULL << 13) - 1;      // ABI 1: execute … make_sym
    if (abi >= 2) rights |= 1ULL << 13;      // refer
    if (abi >= 3) rights |= FS_TRUNCATE;
    if (abi >= 5) rights |= FS_IOCTL_DEV;
    return rights;
}

static int add_rule(int ruleset, const char *path, uint64_t allowed) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? 0 : -1;
    struct stat info;
    if (fstat(fd, &info) != 0) {
        close(fd);
        return -1;
    }
    // Rights that only make sense on directories are refused on a file.
    if (!S_ISDIR(info.st_mode)) allowed &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV;
    struct ll_path_beneath rule = { .allowed_access = allowed, .parent_fd = fd };
    long rc = syscall(LL_ADD_RULE, ruleset, LL_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? 0 : -1;
}

int airlock_landlock_ruleset(int abi, const char *const *read_paths, int read_count,
                             const char *const *write_paths, int write_count) {
    uint64_t handled = fs_rights(abi);
    struct ll_ruleset_attr attr = { .handled_access_fs = handled };
    size_t size = sizeof(uint64_t);
    if (abi >= 4) {
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP;
        size = 2 * sizeof(uint64_t);
    }
    if (abi >= 6) {
        attr.scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL;
        size = sizeof(attr);
    }
    int ruleset = (int)syscall(LL_CREATE, &attr, size, 0);
    if (ruleset < 0) return -1;
    uint64_t read = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR;
    for (int i = 0; i < read_count; i++) {
        if (add_rule(ruleset, read_paths[i], read) != 0) goto fail;
    }
    for (int i = 0; i < write_count; i++) {
        if (add_rule(ruleset, write_paths[i], handled) != 0) goto fail;
    }
    return ruleset;
fail:;
    int saved = errno;
    close(ruleset);
    errno = saved;
    return -1;
}

int airlock_confine_self(const airlock_confinement *c) {
    if (c->detach_mount) {
        if (unshare(CLONE_NEWNS) != 0) return errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return errno;
        if (umount2(c->detach_mount, MNT_DETACH) != 0 && errno != EINVAL) return errno;
    }
    for (int i = 0; i < c->rlimit_count; i++) {
        struct rlimit limit = { .rlim_cur = c->rlimits[i].value, .rlim_max = c->rlimits[i].value };
        if (setrlimit(c->rlimits[i].resource, &limit) != 0) return errno;
    }
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    if (c->landlock_ruleset_fd >= 0) {
        if (syscall(LL_RESTRICT, c->landlock_ruleset_fd, 0) != 0) return errno;
        close(c->landlock_ruleset_fd);
    }
    for (int i = 0; i < c->filter_count; i++) {
        struct sock_fprog program = {
            .len = (unsigned short)(c->filter_sizes[i] / sizeof(struct sock_filter)),
            .filter = (struct sock_filter *)c->filters[i],
        };
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return errno;
    }
    return 0;
}
