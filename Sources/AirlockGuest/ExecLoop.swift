import AirlockProtocol
import CAirlockSys
import Glibc
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The poll loop of one running exec: output, exit, stdin, cancel and the deadline.
struct ExecLoop {
    let id: UInt64
    let pid: pid_t
    let writer: FrameWriter
    let cancelFD: Int32
    var stdoutFD: Int32
    var stderrFD: Int32
    var stdinFD: Int32
    var stdin: Data
    /// Set for an interactive exec: more input arrives while it runs.
    let feed: StdinFeed?
    private var feedClosed = false
    let cap: Int
    let started: Double
    let deadline: Double?
    let graceMs: Double

    private var stdinOffset = 0
    private var sent = [0, 0]
    private var truncated = [false, false]
    private var timedOut = false
    private var cancelled = false
    private var killAt: Double?
    private var exited: (status: Int32, usage: rusage)?
    private var drainUntil: Double?

    init(id: UInt64, pid: pid_t, writer: FrameWriter, cancelFD: Int32, stdoutFD: Int32,
         stderrFD: Int32, stdinFD: Int32, stdin: Data, feed: StdinFeed? = nil, cap: Int, started: Double,
         deadline: Double?, graceMs: Double) {
        self.id = id
        self.pid = pid
        self.writer = writer
        self.cancelFD = cancelFD
        self.stdoutFD = stdoutFD
        self.stderrFD = stderrFD
        self.stdinFD = stdinFD
        self.stdin = stdin
        self.feed = feed
        self.cap = cap
        self.started = started
        self.deadline = deadline
        self.graceMs = graceMs
    }

    mutating func run() -> ExitStatus {
        let pidfd = airlock_pidfd_open(pid)
        defer {
            if pidfd >= 0 { close(pidfd) }
            for fd in [stdoutFD, stderrFD, stdinFD] where fd >= 0 { close(fd) }
        }
        if stdin.isEmpty && feed == nil { closeStdin() } else { _ = fcntl(stdinFD, F_SETFL, O_NONBLOCK) }
        var buffer = [UInt8](repeating: 0, count: ExecRunner.chunkSize)

        while true {
            if exited == nil { reap(blocking: false) }
            if exited != nil {
                // The group leader is gone: collect what is left in the pipes, but never
                // wait on a background process that keeps them open.
                if drainUntil == nil { drainUntil = Monotonic.nowMs() + 100 }
                if stdoutFD < 0 && stderrFD < 0 { break }
                if let drainUntil, Monotonic.nowMs() >= drainUntil { break }
            }
            var fds: [pollfd] = []
            if stdoutFD >= 0 { fds.append(pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)) }
            if stderrFD >= 0 { fds.append(pollfd(fd: stderrFD, events: Int16(POLLIN), revents: 0)) }
            if stdinFD >= 0 && (feed == nil || stdinOffset < stdin.count) {
                fds.append(pollfd(fd: stdinFD, events: Int16(POLLOUT), revents: 0))
            }
            if let feed, !feedClosed, stdinFD >= 0 { fds.append(pollfd(fd: feed.wakeRead, events: Int16(POLLIN), revents: 0)) }
            if exited == nil && pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
            if !cancelled { fds.append(pollfd(fd: cancelFD, events: Int16(POLLIN), revents: 0)) }

            let ready = poll(&fds, nfds_t(fds.count), pollTimeout(pidfdWorks: pidfd >= 0))
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                if entry.fd == stdoutFD { pump(stream: 0, &buffer) }
                else if entry.fd == stderrFD { pump(stream: 1, &buffer) }
                else if entry.fd == stdinFD { feedStdin() }
                else if entry.fd == cancelFD { cancelled = true; terminate() }
                else if let feed, entry.fd == feed.wakeRead { takeFeed(feed) }
            }
            enforceDeadlines()
        }
        if exited == nil { reap(blocking: true) }
        // A timed-out or cancelled call takes its whole group with it. After a normal exit,
        // background jobs may keep running in the sandbox (a server the next call uses).
        if timedOut || cancelled { kill(-pid, SIGKILL) }
        return finalStatus()
    }

    private func pollTimeout(pidfdWorks: Bool) -> Int32 {
        var wait = pidfdWorks ? 1000.0 : 10.0
        let now = Monotonic.nowMs()
        for limit in [deadline, killAt, drainUntil].compactMap({ $0 }) {
            wait = min(wait, max(0, limit - now))
        }
        return Int32(wait.rounded(.up))
    }

    private mutating func enforceDeadlines() {
        let now = Monotonic.nowMs()
        if exited == nil, !timedOut, let deadline, now >= deadline {
            timedOut = true
            terminate()
        }
        if exited == nil, let killAt, now >= killAt {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
    }

    private mutating func terminate() {
        guard killAt == nil else { return }
        kill(-pid, SIGTERM)
        kill(-pid, SIGCONT)
        killAt = Monotonic.nowMs() + graceMs
    }

    private mutating func reap(blocking: Bool) {
        var status: Int32 = 0
        var usage = rusage()
        if airlock_wait4(pid, &status, blocking ? 0 : 1, &usage) == pid {
            exited = (status, usage)
        }
    }

    private mutating func pump(stream: Int, _ buffer: inout [UInt8]) {
        let fd = stream == 0 ? stdoutFD : stderrFD
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard count > 0 else {
            close(fd)
            if stream == 0 { stdoutFD = -1 } else { stderrFD = -1 }
            return
        }
        let room = max(0, cap - sent[stream])
        let keep = min(room, count)
        if keep < count { truncated[stream] = true }
        guard keep > 0 else { return }
        sent[stream] += keep
        let chunk = OutputChunk(data: Data(buffer[0..<keep]))
        writer.send(id, stream == 0 ? .stdout(chunk) : .stderr(chunk))
    }

    private mutating func takeFeed(_ feed: StdinFeed) {
        let (data, closed) = feed.take()
        // Written bytes are dropped so a long-lived process does not grow the buffer.
        if stdinOffset > 0 && stdinOffset == stdin.count {
            stdin = Data()
            stdinOffset = 0
        }
        stdin.append(data)
        feedClosed = closed
        if closed && stdinOffset >= stdin.count { closeStdin() }
    }

    private mutating func feedStdin() {
        let remaining = stdin.count - stdinOffset
        guard remaining > 0 else {
            if feed == nil || feedClosed { closeStdin() }
            return
        }
        let written = stdin.withUnsafeBytes { bytes in
            write(stdinFD, bytes.baseAddress.map { $0 + stdinOffset }, min(remaining, 65536))
        }
        if written > 0 { stdinOffset += written }
        else if written < 0 && errno != EAGAIN && errno != EINTR { closeStdin() }
        if stdinOffset >= stdin.count && (feed == nil || feedClosed) { closeStdin() }
    }

    private mutating func closeStdin() {
        if stdinFD >= 0 { close(stdinFD) }
        stdinFD = -1
    }

    private func finalStatus() -> ExitStatus {
        let status = exited?.status ?? 0
        let usage = exited?.usage ?? rusage()
        let code: Int32? = airlock_wifexited(status) != 0 ? airlock_wexitstatus(status) : nil
        let signal: Int32? = airlock_wifsignaled(status) != 0 ? airlock_wtermsig(status) : nil
        func ms(_ time: timeval) -> Double { Double(time.tv_sec) * 1000 + Double(time.tv_usec) / 1000 }
        return ExitStatus(
            code: code, signal: signal, timedOut: timedOut, cancelled: cancelled,
            stdoutTruncated: truncated[0], stderrTruncated: truncated[1],
            usage: ResourceUsage(wallMs: (Monotonic.nowMs() - started).rounded(),
                                 userCpuMs: ms(usage.ru_utime).rounded(),
                                 systemCpuMs: ms(usage.ru_stime).rounded(),
                                 maxRssKB: Int(usage.ru_maxrss)))
    }
}
