#ifndef AIRLOCK_SECCOMP_H
#define AIRLOCK_SECCOMP_H

/// Builds Airlock's seccomp filter with libseccomp and writes the BPF program to `fd`
/// (the format `bwrap --seccomp FD` reads). `weakened` leaves the filter empty except for
/// the architecture check; only tests use it, to prove the escape tests can fail.
/// Returns 0, or a negative errno.
int airlock_seccomp_export(int fd, int weakened);

/// A second filter for sandboxes without a network namespace (the Landlock tier): every
/// socket family but AF_UNIX is refused (EAFNOSUPPORT), for socket(2) and socketpair(2).
/// Stacked on top of the main filter. Returns 0, or a negative errno.
int airlock_seccomp_export_unix_only(int fd);

/// The calls the main filter refuses with EPERM outright, for runtimes that take the
/// filter as OCI JSON (runc, runsc): a NULL-terminated list of names.
const char *const *airlock_seccomp_denied_names(void);

/// The libseccomp version as "major.minor.micro", for `airlock doctor`.
const char *airlock_seccomp_version(void);

#endif
