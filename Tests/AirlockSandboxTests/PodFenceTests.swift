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

/// `airlock-guest --probe-tcp ADDRESS PORT` (doctor's NetworkPolicy probe from a pod), against
/// loopback sockets this test owns.
@Suite("guest tcp probe", .timeLimit(.minutes(1)))
struct TCPProbeTests {
    @Test("a listening loopback port: 0; a closed one: 1; not a numeric address: 64")
    func probe() throws {
        let guest = try #require(guestBinary, "airlock-guest is not built")
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(listener >= 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(bound == 0 && listen(listener, 4) == 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        func status(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: guest)
            process.arguments = ["--probe-tcp"] + arguments
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        #expect(try status(["127.0.0.1", "\(port)"]) == 0)
        // A port just released by a socket of ours: nothing listens there.
        let spare = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var other = sockaddr_in()
        other.sin_family = sa_family_t(AF_INET)
        other.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &other) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(spare, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var otherLength = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &other) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(spare, $0, &otherLength) } }
        close(spare)
        #expect(try status(["127.0.0.1", "\(UInt16(bigEndian: other.sin_port))"]) == 1)
        #expect(try status(["kubernetes.default", "443"]) == 64)
    }
}
