#define _GNU_SOURCE
#include "airlock_seccomp.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

// Calls that let code in the sandbox reach past its namespaces, the kernel's attack
// surface it never needs, or the terminal. Each fails with EPERM so programs that probe
// for them degrade instead of dying.
static const char *const denied[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "mount", "umount", "umount2", "pivot_root", "chroot",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "unshare", "setns",
    "bpf", "perf_event_open",
    "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load",
    "init_module", "finit_module", "delete_module", "create_module",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "userfaultfd", "reboot", "swapon", "swapoff",
    "open_by_handle_at", "name_to_handle_at",
    "syslog", "acct", "quotactl", "lookup_dcookie", "nfsservctl",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "stime",
    "iopl", "ioperm", "vhangup", "uselib", "sysfs", "_sysctl",
    "fanotify_init",
};

static const unsigned long namespace_flags[] = {
    CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET,
    CLONE_NEWCGROUP,
};

int airlock_seccomp_export(int fd, int weakened) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return -ENOMEM;
    int rc = 0;
    // Calls from a foreign architecture (int 0x80 on x86_64) are killed outright.
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    if (rc == 0 && !weakened) {
        const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
        for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && rc == 0; i++) {
            int nr = seccomp_syscall_resolve_name(denied[i]);
            if (nr < 0) continue; // not a native call on this architecture
            rc = seccomp_rule_add(ctx, eperm, nr, 0);
        }
        // No new namespaces through clone; clone3 passes flags in memory seccomp cannot
        // read, so it reports ENOSYS and libc falls back to clone.
        for (size_t i = 0; i < sizeof(namespace_flags) / sizeof(namespace_flags[0]) && rc == 0; i++) {
            rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
                                  SCMP_A0(SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]));
        }
        if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        // personality: only the default persona, so ASLR cannot be switched off.
        if (rc == 0) rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(personality), 1,
                                           SCMP_A0(SCMP_CMP_NE, 0));
        // Pushing keystrokes into a terminal.
        if (rc == 0) rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
                                           SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCSTI));
        if (rc == 0) rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ioctl), 1,
                                           SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, TIOCLINUX));
    }
    if (rc == 0) rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    return rc;
}

const char *airlock_seccomp_version(void) {
    static char text[32];
    const struct scmp_version *v = seccomp_version();
    if (!v) return "unknown";
    snprintf(text, sizeof(text), "%u.%u.%u", v->major, v->minor, v->micro);
    return text;
}

int airlock_seccomp_export_unix_only(int fd) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx) return -ENOMEM;
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
    const uint32_t refuse = SCMP_ACT_ERRNO(EAFNOSUPPORT);
    if (rc == 0) rc = seccomp_rule_add(ctx, refuse, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    if (rc == 0) rc = seccomp_rule_add(ctx, refuse, SCMP_SYS(socketpair), 1, SCMP_A0(SCMP_CMP_NE, AF_UNIX));
    if (rc == 0) rc = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    return rc;
}

const char *const *airlock_seccomp_denied_names(void) {
    static const char *names[sizeof(denied) / sizeof(denied[0]) + 1];
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) names[i] = denied[i];
    names[sizeof(denied) / sizeof(denied[0])] = NULL;
    return names;
}
