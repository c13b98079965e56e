#ifndef AIRLOCK_SYS_H
#define AIRLOCK_SYS_H

#include <sys/types.h>
#include <sys/resource.h>

#include "airlock_confine.h"

/// How to start one child process. Everything the child does between fork and exec is
/// async-signal-safe system calls, so it is safe from a multi-threaded Swift process.
typedef struct {
    const char *path;             // absolute path of the program
    char *const *argv;            // NULL-terminated
    char *const *envp;            // NULL-terminated; the child's whole environment
    const char *cwd;              // NULL: inherit
    const int *fd_map;            // pairs (source fd, target fd) to install in the child
    int fd_map_count;             // number of pairs
    int new_process_group;        // setpgid(0, 0)
    int new_session;              // setsid()
    const char *const *cgroup_procs; // NULL-terminated paths of cgroup.procs files to join
    int change_ids;               // setgroups(0)/setresgid/setresuid before exec
    uid_t uid;
    gid_t gid;
    int parent_death_signal;      // 0: none
    int cgroup_fd;                // > 0: a cgroup v2 directory to start the child in
    const airlock_confinement *confine; // NULL: none; applied last, just before exec
    // Before the uid change (root only): a private mount namespace in which bind_source
    // is bound on bind_target, so the new uid reaches a tree under a private directory.
    const char *bind_source;
    const char *bind_target;
    // Instead of the bind (root only): an idmapped clone of idmap_source (on-disk owners
    // seen through idmap_userns_fd's mapping) moved to idmap_target, then an overlay with
    // overlay_options ("lowerdir=…,upperdir=…,workdir=…") mounted on bind_target.
    const char *idmap_source;
    const char *idmap_target;
    int idmap_userns_fd;
    const char *overlay_options;
} airlock_spawn_options;

/// A user namespace whose uid/gid 0 map to `uid`/`gid`, as an fd (for an idmapped mount
/// that shows root-owned files as owned by `uid`). Root only; -1 with errno on failure.
int airlock_idmap_userns(unsigned int uid, unsigned int gid);

/// Starts a child. Returns 0 and sets *pid, or an errno describing why the child could not
/// exec (reported back through a close-on-exec pipe, so a failed exec is never a zombie).
int airlock_spawn(const airlock_spawn_options *options, pid_t *pid);

/// pidfd_open(2); -1 with errno on failure.
int airlock_pidfd_open(pid_t pid);

/// wait4(2) without blocking when `nohang`; returns the pid, 0, or -1.
pid_t airlock_wait4(pid_t pid, int *status, int nohang, struct rusage *usage);

/// Decoders for a wait status (the libc macros are not importable into Swift).
int airlock_wifexited(int status);
int airlock_wexitstatus(int status);
int airlock_wifsignaled(int status);
int airlock_wtermsig(int status);

/// memfd_create(2) with MFD_CLOEXEC; -1 on failure.
int airlock_memfd(const char *name);

/// Names the calling thread (the kernel keeps 15 bytes): prctl is variadic, Swift cannot call it.
void airlock_name_thread(const char *name);

/// Whether the kernel can create a user namespace for this process (fork + unshare probe).
int airlock_probe_userns(void);

#endif

#ifndef AIRLOCK_SYS_EXTRA_H
#define AIRLOCK_SYS_EXTRA_H
/// openat2(2) with RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: the path cannot leave `dirfd`
/// through `..`, an absolute path or a symlink, even one swapped in during the call.
/// Returns the fd, or -1 with errno (EXDEV for an escape).
int airlock_open_beneath(int dirfd, const char *path, int flags, unsigned int mode);
#endif

/// pipe2(2) (glibc hides it from Swift without _GNU_SOURCE).
int airlock_pipe(int fds[2], int flags);

/// The Landlock ABI version the kernel offers, 0 when none.
int airlock_landlock_abi(void);

/// A TCP socket listening on 127.0.0.1:`port` (SO_REUSEADDR, close-on-exec);
/// -1 with errno on failure.
int airlock_listen_loopback(int port);

/// A connected, close-on-exec AF_UNIX stream socket to `path`; -1 with errno on failure.
int airlock_connect_unix(const char *path);

/// Tries a TCP connection to a numeric IPv4/IPv6 `address` and closes it: 0 connected,
/// 1 refused or unreachable, 2 no answer within `timeout_ms`, -2 not a numeric address.
int airlock_probe_tcp(const char *address, int port, int timeout_ms);

/// accept4(2) with SOCK_CLOEXEC; -1 with errno on failure.
int airlock_accept(int fd);
