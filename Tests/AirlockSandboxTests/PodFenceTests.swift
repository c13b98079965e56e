import Foundation
import Glibc
import Testing

/// `airlock-guest --fence` kills every process it can see but pid 1 and itself: right in a
/// pod (its own pid namespace, pid 1 the idle guest), ruinous anywhere else. Outside a pod it
/// must refuse and kill nothing. (In a pod it is tested end to end by the Kubernetes resume
/// and takeover tests.)
@Suite("pod fence", .timeLimit(.minutes(1)))
struct PodFenceTests {
    @Test("--fence outside a pod (pid 1 is not `airlock-guest --idle`): refused with the reason, exit 75, a process of the same user survives")
    func refusesOutsideAPod() throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { kill(bystander.processIdentifier, SIGKILL); bystander.waitUntilExit() }

        let fence = Process()
        fence.executableURL = URL(fileURLWithPath: guest)
        fence.arguments = ["--fence", "--workspace", NSTemporaryDirectory()]
        // Its stderr in a file, not a pipe: a pipe's write end can leak into other children.
        let log = NSTemporaryDirectory() + "fence-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: log) }
        fence.standardError = FileHandle(forWritingAtPath: log)
        fence.standardInput = FileHandle.nullDevice
        fence.standardOutput = FileHandle.nullDevice
        try fence.run()
        fence.waitUntilExit()
        let said = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(fence.terminationStatus == 75, "\(said)")
        #expect(said.contains("--fence: pid 1 is not `airlock-guest --idle`"), "\(said)")
        #expect(bystander.isRunning && kill(bystander.processIdentifier, 0) == 0, "the bystander was killed")
    }
}
