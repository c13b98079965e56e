#ifndef AIRLOCK_CONFINE_H
#define AIRLOCK_CONFINE_H

#include <stdint.h>
#include <sys/types.h>

/// One resource limit for the child (setrlimit soft = hard = value).
typedef struct {
    int resource;
    unsigned long long value;
} airlock_rlimit;

/// Confinement a child applies to itself between fork and exec, for a sandbox with no
/// namespaces (the Landlock tier): limits, no new privileges, a Landlock domain, and
/// seccomp programs (classic BPF, as libseccomp exports them), in that order. An OCI
/// runtime uses only `detach_mount`: crun refuses a hybrid cgroup host whose v2 hierarchy
/// holds controllers, and it manages no cgroups here anyway (Airlock's group contains it).
typedef struct {
    const airlock_rlimit *rlimits;
    int rlimit_count;
    int landlock_ruleset_fd;          // -1: none
    const uint8_t *const *filters;    // BPF programs, each `filter_sizes[i]` bytes
    const int *filter_sizes;
    int filter_count;
    int no_new_privs;                 // PR_SET_NO_NEW_PRIVS (required with filters or Landlock)
    const char *detach_mount;         // non-NULL: a private mount namespace without this mount
} airlock_confinement;

/// Applies it in the calling (single-threaded, just forked) process; 0 or an errno.
int airlock_confine_self(const airlock_confinement *confinement);

/// A Landlock ruleset at `abi` (1…7) that allows reading (and executing) beneath
/// `read_paths`, everything beneath `write_paths`, and handles every other file access
/// the ABI knows; from ABI 4 TCP bind and connect are handled with no port allowed; from
/// ABI 6 abstract Unix sockets and signals are scoped to the sandbox. Returns the ruleset
/// fd (close-on-exec), or -1 with errno; a path that does not exist is skipped.
int airlock_landlock_ruleset(int abi, const char *const *read_paths, int read_count,
                             const char *const *write_paths, int write_count);

#endif
