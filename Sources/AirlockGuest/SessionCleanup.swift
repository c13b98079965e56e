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
            for pid in ProcFiles.pids() where pid != me && getsid(pid) == session {
                kill(pid, SIGKILL)
                found = true
            }
            if !found { return }
            usleep(1000)
        }
    }
}
