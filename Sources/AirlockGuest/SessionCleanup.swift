import Glibc

/// For a guest with no pid namespace around it (the Landlock tier): when the harness goes
/// away (stdin closes), every process of the guest's session goes with it, as a pid
/// namespace's end would take them. Repeated until a pass finds nobody.
public enum SessionCleanup {
    public static func killSession() {
        let session = getsid(0)
        let me = getpid()
        for _ in 0..<50 {
            var found = false
            guard let directory = opendir("/proc") else { return }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard let pid = pid_t(name), pid != me, getsid(pid) == session else { continue }
                kill(pid, SIGKILL)
                found = true
            }
            closedir(directory)
            if !found { return }
            usleep(1000)
        }
    }
}
