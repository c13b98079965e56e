import Glibc

/// A process started with stdin, stdout or stderr closed would hand those numbers to the
/// next files it opens — a database, a pipe to a sandbox — and a later write "to stderr"
/// or a child given "stdin" would reach them. They are opened on /dev/null first.
public enum StandardStreams {
    public static func openClosed() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) < 0 && errno == EBADF {
            let null = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY)
            if null >= 0, null != fd {
                dup2(null, fd)
                close(null)
            }
        }
    }
}

extension StandardStreams {
    /// Writes all of `bytes` to `fd` (stdout 1, stderr 2), across short writes and
    /// interruptions; gives up quietly when the reader is gone.
    public static func write(_ bytes: some Collection<UInt8>, to fd: Int32) {
        let buffer = Array(bytes)
        var offset = 0
        while offset < buffer.count {
            let count = buffer.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, buffer.count - offset) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            offset += count
        }
    }

    /// One line of text on stderr.
    public static func complain(_ line: String) { write(Array((line + "\n").utf8), to: 2) }
}
