import Glibc

/// A process started with stdin, stdout or stderr closed would hand those numbers to the
/// next files it opens — a database, a pipe to a sandbox — and a later write "to stderr"
/// or a child given "stdin" would reach them. They are opened on /dev/null first.
enum StandardStreams {
    static func openClosed() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0, null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }
}
