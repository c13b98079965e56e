#define _GNU_SOURCE
#include "airlock_sys.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

static void child_fail(int report_fd, int err) {
    ssize_t ignored = write(report_fd, &err, sizeof(err));
    (void)ignored;
    _exit(127);
}

static int write_pid_fd(int fd, pid_t pid) {
    char digits[24];
    char text[24];
    int n = 0, length = 0;
    if (pid == 0) digits[n++] = '0';
    while (pid > 0 && n < (int)sizeof(digits)) {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    }
    while (n > 0) text[length++] = digits[--n];
    ssize_t written = write(fd, text, (size_t)length);
    return written == length ? 0 : (errno ? errno : EIO);
}

static int write_pid(const char *path, pid_t pid) {
    char digits[24];
    int n = 0;
    char text[24];
    int length = 0;
    if (pid == 0) digits[n++] = '0';
    while (pid > 0 && n < (int)sizeof(digits)) {
        digits[n++] = (char)('0' + pid % 10);
        pid /= 10;
    }
    while (n > 0) text[length++] = digits[--n];
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    ssize_t written = write(fd, text, (size_t)length);
    int err = written == length ? 0 : (errno ? errno : EIO);
    close(fd);
    return err;
}

int airlock_spawn(const airlock_spawn_options *o, pid_t *pid_out) {
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;

    // Block all signals around fork so the child runs no Swift signal handler before exec.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);

    // With a cgroup v2 directory, clone3(CLONE_INTO_CGROUP) starts the child inside it:
    // no migration afterwards, which costs milliseconds on a busy cgroup lock. Kernels
    // without it fall back to fork and a write to cgroup.procs in the child.
    int joined = 0;
    pid_t pid = -1;
    if (o->cgroup_fd > 0) {
        struct {
            unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
                tls, set_tid, set_tid_size, cgroup;
        } args;
        memset(&args, 0, sizeof(args));
        args.flags = 0x200000000ULL; /* CLONE_INTO_CGROUP */
        args.exit_signal = SIGCHLD;
        args.cgroup = (unsigned long long)o->cgroup_fd;
        pid = (pid_t)syscall(435 /* SYS_clone3 */, &args, sizeof(args));
        if (pid >= 0) joined = 1;
    }
    if (!joined) pid = fork();
    if (pid < 0) {
        int err = errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(report[0]);
        close(report[1]);
        return err;
    }
    if (pid == 0) {
        // Child: reset dispositions, then restore an empty mask.
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
        }
        sigset_t none;
        sigemptyset(&none);

        if (o->cgroup_procs) {
            for (const char *const *path = o->cgroup_procs; *path; path++) {
                int err = write_pid(*path, getpid());
                if (err) child_fail(report[1], err);
            }
        }
        if (o->cgroup_fd > 0 && !joined) {
            int fd = openat(o->cgroup_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
            if (fd < 0) child_fail(report[1], errno);
            int err = write_pid_fd(fd, getpid());
            close(fd);
            if (err) child_fail(report[1], err);
        }
        if (o->new_session && setsid() < 0) child_fail(report[1], errno);
        if (o->new_process_group && setpgid(0, 0) != 0) child_fail(report[1], errno);

        // Image roots (root only, before the fds are rearranged: the userns fd must survive).
        if (o->bind_target && (o->bind_source || o->overlay_options)) {
            if (unshare(CLONE_NEWNS) != 0) child_fail(report[1], errno);
            if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0) child_fail(report[1], errno);
            if (o->idmap_source && o->idmap_target) {
                int tree = (int)syscall(SYS_open_tree, AT_FDCWD, o->idmap_source, 1 /* OPEN_TREE_CLONE */ | O_CLOEXEC);
                if (tree < 0) child_fail(report[1], errno);
                struct { unsigned long long attr_set, attr_clr, propagation, userns_fd; } attr = {
                    0x00100000 /* MOUNT_ATTR_IDMAP */, 0, 0, (unsigned long long)o->idmap_userns_fd };
                if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) child_fail(report[1], errno);
                if (syscall(SYS_move_mount, tree, "", AT_FDCWD, o->idmap_target, 4 /* MOVE_MOUNT_F_EMPTY_PATH */) != 0)
                    child_fail(report[1], errno);
                close(tree);
            }
            if (o->overlay_options) {
                if (mount("overlay", o->bind_target, "overlay", 0, o->overlay_options) != 0) child_fail(report[1], errno);
            } else if (mount(o->bind_source, o->bind_target, NULL, MS_BIND | MS_REC, NULL) != 0) {
                child_fail(report[1], errno);
            }
        }
        // Move sources out of the way first so a target never clobbers a later source.
        int moved[64];
        int count = o->fd_map_count > 64 ? 64 : o->fd_map_count;
        for (int i = 0; i < count; i++) {
            moved[i] = fcntl(o->fd_map[2 * i], F_DUPFD_CLOEXEC, 100);
            if (moved[i] < 0) child_fail(report[1], errno);
        }
        int highest = 2;
        for (int i = 0; i < count; i++) {
            int target = o->fd_map[2 * i + 1];
            if (dup2(moved[i], target) < 0) child_fail(report[1], errno);
            if (target > highest) highest = target;
        }
        // Everything above the installed fds closes, except the report pipe (close-on-exec).
        for (int fd = highest + 1; fd < 100; fd++) {
            if (fd != report[1]) close(fd);
        }
        syscall(SYS_close_range, 100, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
        int flags = fcntl(report[1], F_GETFD);
        fcntl(report[1], F_SETFD, flags | FD_CLOEXEC);

        if (o->change_ids) {
            // Raw system calls: glibc's wrappers broadcast the change to every thread the
            // parent had, and after a raw clone3 it would wait for threads that are not here.
            if (syscall(SYS_setgroups, 0, NULL) != 0) child_fail(report[1], errno);
            if (syscall(SYS_setresgid, o->gid, o->gid, o->gid) != 0) child_fail(report[1], errno);
            if (syscall(SYS_setresuid, o->uid, o->uid, o->uid) != 0) child_fail(report[1], errno);
        }
        // After the uid change: changing credentials clears the parent-death signal.
        if (o->parent_death_signal) {
            prctl(PR_SET_PDEATHSIG, o->parent_death_signal);
            if (getppid() == 1) _exit(127);
        }
        if (o->cwd && chdir(o->cwd) != 0) child_fail(report[1], errno);
        if (o->confine) {
            int err = airlock_confine_self(o->confine);
            if (err) child_fail(report[1], err);
        }
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        execve(o->path, o->argv, o->envp);
        child_fail(report[1], errno);
    }

    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(report[1]);
    int child_errno = 0;
    ssize_t got;
    do {
        got = read(report[0], &child_errno, sizeof(child_errno));
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof(child_errno)) {
        int status;
        waitpid(pid, &status, 0);
        return child_errno ? child_errno : ECHILD;
    }
    *pid_out = pid;
    return 0;
}

static int write_text(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t written = write(fd, text, length);
    close(fd);
    return written == (ssize_t)length ? 0 : -1;
}

static size_t format_map(char *out, unsigned int id) {
    // "0 <id> 1\n" without stdio.
    char digits[16];
    size_t n = 0, length = 0;
    do { digits[n++] = (char)('0' + id % 10); id /= 10; } while (id > 0 && n < sizeof(digits));
    out[length++] = '0'; out[length++] = ' ';
    while (n > 0) out[length++] = digits[--n];
    out[length++] = ' '; out[length++] = '1'; out[length++] = '\n';
    return length;
}

int airlock_idmap_userns(unsigned int uid, unsigned int gid) {
    int ready[2], hold[2];
    if (pipe2(ready, O_CLOEXEC) != 0) return -1;
    if (pipe2(hold, O_CLOEXEC) != 0) { close(ready[0]); close(ready[1]); return -1; }
    pid_t child = fork();
    if (child < 0) { int e = errno; close(ready[0]); close(ready[1]); close(hold[0]); close(hold[1]); errno = e; return -1; }
    if (child == 0) {
        // Only async-signal-safe calls: make the namespace, say so, wait to be killed.
        char ok = unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
        ssize_t ignored = write(ready[1], &ok, 1);
        (void)ignored;
        char byte;
        ignored = read(hold[0], &byte, 1);
        _exit(0);
    }
    close(ready[1]);
    close(hold[0]);
    char ok = 0;
    ssize_t got;
    do { got = read(ready[0], &ok, 1); } while (got < 0 && errno == EINTR);
    close(ready[0]);
    int result = -1, err = EPERM;
    if (got == 1 && ok) {
        char path[64], map[32];
        char pid_text[16];
        size_t pn = 0; unsigned int value = (unsigned int)child; char digits[16]; size_t n = 0;
        do { digits[n++] = (char)('0' + value % 10); value /= 10; } while (value > 0);
        while (n > 0) pid_text[pn++] = digits[--n];
        pid_text[pn] = 0;
        strcpy(path, "/proc/"); strcat(path, pid_text); strcat(path, "/uid_map");
        size_t length = format_map(map, uid);
        if (write_text(path, map, length) == 0) {
            strcpy(path, "/proc/"); strcat(path, pid_text); strcat(path, "/gid_map");
            length = format_map(map, gid);
            if (write_text(path, map, length) == 0) {
                strcpy(path, "/proc/"); strcat(path, pid_text); strcat(path, "/ns/user");
                result = open(path, O_RDONLY | O_CLOEXEC);
            }
        }
        if (result < 0) err = errno;
    }
    close(hold[1]);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (result < 0) errno = err;
    return result;
}

int airlock_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

pid_t airlock_wait4(pid_t pid, int *status, int nohang, struct rusage *usage) {
    pid_t result;
    do {
        result = wait4(pid, status, nohang ? WNOHANG : 0, usage);
    } while (result < 0 && errno == EINTR);
    return result;
}

int airlock_wifexited(int status) { return WIFEXITED(status); }
int airlock_wexitstatus(int status) { return WEXITSTATUS(status); }
int airlock_wifsignaled(int status) { return WIFSIGNALED(status); }
int airlock_wtermsig(int status) { return WTERMSIG(status); }

int airlock_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

void airlock_name_thread(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

int airlock_probe_userns(void) {
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

struct airlock_open_how {
    unsigned long long flags;
    unsigned long long mode;
    unsigned long long resolve;
};

/// For kernels without openat2 (gVisor's 2022 sentry): walks the path one component at a
/// time with O_NOFOLLOW, so no symlink is followed at all (stricter than RESOLVE_BENEATH,
/// which follows those that stay inside); `..` and absolute paths are refused (EXDEV).
static int open_beneath_walk(int dirfd, const char *path, int flags, unsigned int mode) {
    if (path[0] == '/') { errno = EXDEV; return -1; }
    char copy[4096];
    size_t length = strlen(path);
    if (length >= sizeof(copy)) { errno = ENAMETOOLONG; return -1; }
    memcpy(copy, path, length + 1);
    int current = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    if (current < 0) return -1;
    char *component = copy;
    while (1) {
        char *slash = strchr(component, '/');
        if (slash) *slash = '\0';
        int last = slash == NULL;
        if (strcmp(component, "..") == 0) { close(current); errno = EXDEV; return -1; }
        if (!last && (component[0] == '\0' || strcmp(component, ".") == 0)) {
            component = slash + 1;
            continue;
        }
        const char *name = component[0] == '\0' ? "." : component;
        int next;
        if (last) {
            next = openat(current, name, flags | O_NOFOLLOW | O_CLOEXEC, (flags & O_CREAT) ? mode : 0);
        } else {
            next = openat(current, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int saved = errno;
        close(current);
        errno = saved;
        if (next < 0 || last) return next;
        current = next;
        component = slash + 1;
    }
}

int airlock_open_beneath(int dirfd, const char *path, int flags, unsigned int mode) {
    struct airlock_open_how how = {
        .flags = (unsigned long long)(flags | O_CLOEXEC),
        .mode = (flags & O_CREAT) ? mode : 0,
        .resolve = 0x08 /* RESOLVE_BENEATH */ | 0x02 /* RESOLVE_NO_MAGICLINKS */,
    };
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
    } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
    if (fd < 0 && errno == ENOSYS) return open_beneath_walk(dirfd, path, flags, mode);
    return (int)fd;
}

int airlock_pipe(int fds[2], int flags) { return pipe2(fds, flags); }

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#endif

int airlock_landlock_abi(void) {
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, 1UL /* LANDLOCK_CREATE_RULESET_VERSION */);
    return abi < 0 ? 0 : (int)abi;
}
