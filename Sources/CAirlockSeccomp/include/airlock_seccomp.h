#ifndef AIRLOCK_SECCOMP_H
#define AIRLOCK_SECCOMP_H

/// Builds Airlock's seccomp filter with libseccomp and writes the BPF program to `fd`
/// (the format `bwrap --seccomp FD` reads). `weakened` leaves the filter empty except for
/// the architecture check; only tests use it, to prove the escape tests can fail.
/// Returns 0, or a negative errno.
int airlock_seccomp_export(int fd, int weakened);

/// The libseccomp version as "major.minor.micro", for `airlock doctor`.
const char *airlock_seccomp_version(void);

#endif
