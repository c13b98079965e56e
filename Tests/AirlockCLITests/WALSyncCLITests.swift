import AirlockTestSupport
import Foundation
import Testing

/// The store fsyncs its WAL itself after the commits that allow an action (the connection
/// runs `synchronous = NORMAL`). Counted for real: a whole `airlock run` under strace, the
/// fsyncs of its WAL file against the commands its sandbox ran.
@Suite("WAL fsyncs of a real run", .enabled(if: RunBinary.path != nil, "needs the built airlock executable beside the tests"),
       .timeLimit(.minutes(2)))
struct WALSyncCLITests {
    static let strace = "/usr/bin/strace"

    @Test("between one tool call and the next, exactly one fsync of the WAL: the commit before the frame is synced, the one after the result is not")
    func oneSyncPerAction() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.strace), "strace is missing: scripts/setup.sh installs it")
        let airlock = try #require(RunBinary.path)
        let scene = try RunScene.make()
        defer { scene.remove() }
        let steps = 8
        let model = try scene.script((1...steps).map { RunScene.shell("echo \($0) >> log.txt") } + [RunScene.submit("ok")])
        let trace = scene.root + "/strace.txt"
        // -y names each fd's file, so the WAL's syncs are told from any other file's; the
        // tool calls show as the sandbox's execve of each command. --seccomp-bpf stops the
        // traced processes only at these calls (a run under plain strace -f took twice as long here).
        let traced = try AirlockProcess(["-f", "--seccomp-bpf", "-qq", "-y", "-e", "trace=fsync,fdatasync,execve", "-o", trace,
                                         airlock, "run", "write the log", "--workspace", scene.workspace,
                                         "--state-dir", scene.stateDir, "--model", model],
                                        executable: Self.strace)
        defer { traced.cleanUp() }
        let (reason, status) = await traced.wait(limit: .seconds(90))
        #expect(reason == .exit && status == 0, "airlock run under strace: \(traced.stderr)")
        #expect(FileManager.default.contents(atPath: scene.workspace + "/log.txt")?.split(separator: 10).count == steps)

        // strace writes the events of all traced processes in the order they happened.
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let isWALSync = { (line: Substring) in
            (line.contains("fdatasync(") || line.contains("fsync(")) && line.contains("airlock.sqlite-wal>")
        }
        // A call another thread interrupts is split over two lines ("<unfinished ...>", then
        // "<... resumed>"); the first names the file, so each sync is counted once.
        #expect(!lines.contains { isWALSync($0) && $0.contains("= -1") }, "every WAL fsync succeeded")
        var calls: [Int] = []
        for step in 1...steps {
            let index = lines.firstIndex { $0.contains("execve(\"/bin/sh\"") && $0.contains("\"echo \(step) >> log.txt\"") }
            calls.append(try #require(index, "the sandbox ran `echo \(step)`"))
        }
        #expect(calls == calls.sorted(), "the calls ran in order")
        #expect(lines[..<calls[0]].contains(where: isWALSync), "the WAL was synced before the first call")
        for (step, (previous, next)) in zip(2..., zip(calls, calls.dropFirst())) {
            let syncs = lines[previous..<next].filter(isWALSync).count
            #expect(syncs == 1, "WAL fsyncs between call \(step - 1) and call \(step): \(syncs)")
        }
    }
}
