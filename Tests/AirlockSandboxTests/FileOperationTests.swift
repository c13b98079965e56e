import AirlockProtocol
@testable import AirlockSandbox
import Foundation
import Glibc
import Testing
@testable import AirlockSandboxHost

/// read_file / write_file / edit_file / list_files / stat through the guest.
///
/// Inside a real sandbox the mount namespace hides the host anyway, so every escape is
/// tried twice: through a sandbox (the contract), and against the guest run directly on
/// the host (`RawGuest`), where only the guest's own confinement (openat2 RESOLVE_BENEATH)
/// stands between a symlink and a host file the test created.
@Suite("File operations")
struct FileOperationTests {
    /// A workspace plus a host directory outside it holding a secret, and symlinks from the
    /// workspace to both the secret and /etc.
    struct Scene {
        let fixture: SandboxFixture
        let outside: TemporaryDirectory
        let secret: String
        var workspace: String { fixture.workspace }
        var secretPath: String { outside.path + "/secret" }

        init() throws {
            fixture = try SandboxFixture()
            outside = try TemporaryDirectory("airlock-outside")
            secret = "airlock-secret-" + UUID().uuidString
            chmod(outside.path, 0o777)
            try Data(secret.utf8).write(to: URL(fileURLWithPath: outside.path + "/secret"))
            chmod(outside.path + "/secret", 0o666)
            let files = FileManager.default
            try files.createSymbolicLink(atPath: workspace + "/link-secret", withDestinationPath: secretPath)
            try files.createSymbolicLink(atPath: workspace + "/link-etc", withDestinationPath: "/etc")
            try files.createSymbolicLink(atPath: workspace + "/link-outdir", withDestinationPath: outside.path)
            try files.createSymbolicLink(atPath: workspace + "/link-tmp", withDestinationPath: "/tmp")
            // Relative, leading out through `..` from inside the workspace.
            try files.createSymbolicLink(atPath: workspace + "/link-relative",
                                         withDestinationPath: "../" + (outside.path as NSString).lastPathComponent + "/secret")
            try files.createSymbolicLink(atPath: workspace + "/dest-link", withDestinationPath: secretPath)
            try Data("target\n".utf8).write(to: URL(fileURLWithPath: workspace + "/target.txt"))
            try files.createSymbolicLink(atPath: workspace + "/dest-inner", withDestinationPath: "target.txt")
        }

        func remove() {
            fixture.remove()
            outside.remove()
        }

        var secretIntact: Bool {
            FileManager.default.contents(atPath: secretPath) == Data(secret.utf8)
        }

        var outsideEntries: Set<String> {
            Set((try? FileManager.default.contentsOfDirectory(atPath: outside.path)) ?? [])
        }
    }

    /// Either a sandbox's connection or a raw guest, behind one call.
    enum Target: Sendable {
        case sandbox(any Sandbox)
        case raw(RawGuest)

        func call(_ request: Request) async throws -> Response {
            switch self {
            case .sandbox(let sandbox):
                return try await sandbox.guest.call(request)
            case .raw(let guest):
                let id = UInt64.random(in: 1...UInt64(UInt32.max))
                guard let response = try await guest.call(id, request) else {
                    throw SandboxError(.guestDied, "no answer from the raw guest")
                }
                return response
            }
        }

        func stop() async {
            switch self {
            case .sandbox(let sandbox): await sandbox.kill()
            case .raw(let guest): _ = await guest.finish()
            }
        }
    }

    enum Mode: String, CaseIterable, CustomTestStringConvertible {
        case sandbox, rawGuest
        var testDescription: String { rawValue }
    }

    static func start(_ mode: Mode, _ scene: Scene) async throws -> Target {
        switch mode {
        case .sandbox: return .sandbox(try await scene.fixture.start())
        case .rawGuest: return .raw(try RawGuest(workspace: scene.workspace))
        }
    }

    static func errorCode(_ response: Response) -> String? {
        if case .error(let error) = response { return error.code }
        return nil
    }

    static func content(_ response: Response) -> Data? {
        if case .file(let file) = response { return file.content }
        return nil
    }

    static let modes: [Mode] = guestBinary == nil ? [.sandbox] : Mode.allCases

    @Test("write, read, edit, list and stat round trip", arguments: modes)
    func roundTrip(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        let text = "hello\nworld\n"
        let bytes = Data(text.utf8) + Data([0, 0xff, 0x0a])
        let wrote = try await target.call(.writeFile(WriteFileRequest(path: "dir/sub/a.txt", content: Data(text.utf8))))
        let wroteBinary = try await target.call(.writeFile(WriteFileRequest(path: "/workspace/bin.dat", content: bytes)))
        let read = try await target.call(.readFile(PathRequest(path: "dir/sub/a.txt")))
        let readBinary = try await target.call(.readFile(PathRequest(path: "./bin.dat")))
        let readPrefix = try await target.call(.readFile(PathRequest(path: "dir/sub/a.txt", maxBytes: 5)))
        let edited = try await target.call(.editFile(EditFileRequest(path: "dir/sub/a.txt", old: "world", new: "there")))
        let reread = try await target.call(.readFile(PathRequest(path: "dir/sub/a.txt")))
        let listed = try await target.call(.listFiles(PathRequest(path: "dir/sub")))
        let root = try await target.call(.listFiles(PathRequest(path: ".")))
        let stat = try await target.call(.stat(PathRequest(path: "dir/sub/a.txt")))
        let statDir = try await target.call(.stat(PathRequest(path: "dir")))
        let statLink = try await target.call(.stat(PathRequest(path: "link-etc")))
        let missing = try await target.call(.readFile(PathRequest(path: "nope.txt")))
        let directoryWrite = try await target.call(.writeFile(WriteFileRequest(path: "dir", content: Data("x".utf8))))
        await target.stop()

        #expect(wrote == .ok)
        #expect(wroteBinary == .ok)
        #expect(read == .file(FileContent(content: Data(text.utf8), size: text.utf8.count)))
        #expect(readBinary == .file(FileContent(content: bytes, size: bytes.count)))
        #expect(readPrefix == .file(FileContent(content: Data("hello".utf8), size: text.utf8.count)))
        #expect(edited == .ok)
        #expect(Self.content(reread) == Data("hello\nthere\n".utf8))
        #expect(FileManager.default.contents(atPath: scene.workspace + "/dir/sub/a.txt") == Data("hello\nthere\n".utf8))
        guard case .entries(let listing) = listed else {
            Issue.record("list_files answered \(listed)")
            return
        }
        #expect(listing.entries.map(\.name) == ["a.txt"])
        #expect(listing.entries.first?.kind == .file)
        #expect(listing.entries.first?.size == 12)
        if case .entries(let top) = root {
            let names = top.entries.map(\.name)
            #expect(names.contains("dir") && names.contains("bin.dat") && names.contains("link-etc"))
            #expect(top.entries.first { $0.name == "link-etc" }?.kind == .symlink)
            #expect(top.entries.first { $0.name == "dir" }?.kind == .directory)
            #expect(!names.contains { $0.contains(".airlock-") }, "a temporary file was left: \(names)")
        } else {
            Issue.record("list_files . answered \(root)")
        }
        guard case .stat(let info) = stat else {
            Issue.record("stat answered \(stat)")
            return
        }
        #expect(info.name == "a.txt" && info.kind == .file && info.size == 12)
        if case .stat(let dirInfo) = statDir { #expect(dirInfo.kind == .directory) } else { Issue.record("\(statDir)") }
        if case .stat(let linkInfo) = statLink { #expect(linkInfo.kind == .symlink) } else { Issue.record("\(statLink)") }
        #expect(Self.errorCode(missing) == "not_found")
        #expect(Self.errorCode(directoryWrite) == "is_directory")
    }

    @Test("'..' and absolute paths outside the workspace are refused", arguments: modes)
    func dotDotAndAbsoluteRefused(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        let outsideName = (scene.outside.path as NSString).lastPathComponent
        let reads = ["../\(outsideName)/secret", "dir/../../\(outsideName)/secret", "..", "/etc/passwd",
                     scene.secretPath, "/workspace/../etc/passwd", "/tmp"]
        var answers: [String: Response] = [:]
        for path in reads {
            answers[path] = try await target.call(.readFile(PathRequest(path: path)))
        }
        let writeUp = try await target.call(.writeFile(WriteFileRequest(path: "../\(outsideName)/evil", content: Data("x".utf8))))
        let writeAbsolute = try await target.call(.writeFile(WriteFileRequest(path: scene.outside.path + "/evil", content: Data("x".utf8))))
        let editUp = try await target.call(.editFile(EditFileRequest(path: "../\(outsideName)/secret", old: "airlock", new: "pwned")))
        let listUp = try await target.call(.listFiles(PathRequest(path: "..")))
        let listRoot = try await target.call(.listFiles(PathRequest(path: "/")))
        let statUp = try await target.call(.stat(PathRequest(path: "../\(outsideName)")))
        await target.stop()

        for (path, answer) in answers {
            #expect(Self.errorCode(answer) == "path_escape", "\(path): \(answer)")
            #expect(Self.content(answer) == nil)
        }
        for answer in [writeUp, writeAbsolute, editUp, listUp, listRoot, statUp] {
            #expect(Self.errorCode(answer) == "path_escape", "\(answer)")
        }
        #expect(scene.secretIntact)
        #expect(scene.outsideEntries == ["secret"])
    }

    @Test("symlinks leading out of the workspace are refused for reading", arguments: modes)
    func symlinkReadRefused(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        var answers: [(String, Response)] = []
        for path in ["link-secret", "link-relative", "link-outdir/secret", "link-etc/passwd",
                     "link-etc/hostname", "link-tmp"] {
            answers.append((path, try await target.call(.readFile(PathRequest(path: path)))))
        }
        let listEtc = try await target.call(.listFiles(PathRequest(path: "link-etc")))
        let listOut = try await target.call(.listFiles(PathRequest(path: "link-outdir")))
        let editThrough = try await target.call(.editFile(EditFileRequest(path: "link-secret", old: "airlock", new: "pwned")))
        await target.stop()

        for (path, answer) in answers {
            #expect(Self.errorCode(answer) == "path_escape", "\(path): \(answer)")
            if let content = Self.content(answer) {
                Issue.record("\(path) returned \(content.count) bytes")
                #expect(!String(decoding: content, as: UTF8.self).contains(scene.secret))
            }
        }
        #expect(Self.errorCode(listEtc) == "path_escape", "\(listEtc)")
        #expect(Self.errorCode(listOut) == "path_escape", "\(listOut)")
        if case .entries(let listing) = listOut { #expect(!listing.entries.map(\.name).contains("secret")) }
        #expect(Self.errorCode(editThrough) == "path_escape", "\(editThrough)")
        #expect(scene.secretIntact)
    }

    @Test("writing through a symlinked directory is refused and creates nothing outside", arguments: modes)
    func symlinkDirectoryWriteRefused(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        let writes = ["link-outdir/evil", "link-outdir/sub/evil", "link-tmp/evil", "link-etc/evil"]
        var answers: [(String, Response)] = []
        for path in writes {
            answers.append((path, try await target.call(.writeFile(WriteFileRequest(path: path, content: Data("pwned".utf8))))))
        }
        // Inside a sandbox, /tmp is the sandbox's own: check it there too.
        var tmpEvil = ""
        if case .sandbox(let sandbox) = target {
            (_, tmpEvil, _) = try await sandbox.guest.sh("ls /tmp/evil 2>/dev/null; ls /etc/evil 2>/dev/null; true")
        }
        await target.stop()

        for (path, answer) in answers {
            #expect(Self.errorCode(answer) == "path_escape", "\(path): \(answer)")
        }
        #expect(scene.outsideEntries == ["secret"])
        #expect(scene.secretIntact)
        #expect(tmpEvil.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: "/etc/evil"))
    }

    @Test("a write replaces a symlink at the destination instead of following it", arguments: modes)
    func writeReplacesSymlink(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        let outer = try await target.call(.writeFile(WriteFileRequest(path: "dest-link", content: Data("replaced".utf8))))
        let inner = try await target.call(.writeFile(WriteFileRequest(path: "dest-inner", content: Data("inner".utf8))))
        await target.stop()

        #expect(outer == .ok)
        #expect(inner == .ok)
        #expect(scene.secretIntact)
        #expect(scene.outsideEntries == ["secret"])
        for (name, text) in [("dest-link", "replaced"), ("dest-inner", "inner")] {
            let path = scene.workspace + "/" + name
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect((info.st_mode & S_IFMT) == S_IFREG, "\(name) is still a symlink")
            #expect(FileManager.default.contents(atPath: path) == Data(text.utf8))
        }
        #expect(FileManager.default.contents(atPath: scene.workspace + "/target.txt") == Data("target\n".utf8))
    }

    @Test("reading a FIFO is refused instead of hanging the call", arguments: modes)
    func fifoRefused(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        #expect(mkfifo(scene.workspace + "/pipe", 0o666) == 0)
        let target = try await Self.start(mode, scene)
        // Nobody ever opens the other end: a blocking open would wait forever. The sleep
        // only detects a hang; it is not a timing assertion.
        let answers = await withTaskGroup(of: (String, Response?).self) { group in
            group.addTask { ("read", try? await target.call(.readFile(PathRequest(path: "pipe")))) }
            group.addTask {
                ("edit", try? await target.call(.editFile(EditFileRequest(path: "pipe", old: "a", new: "b"))))
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(20))
                return ("hang", nil)
            }
            var answers: [String: Response?] = [:]
            while answers.count < 2, let (name, answer) = await group.next() {
                if name == "hang" { break }
                answers[name] = answer
            }
            group.cancelAll()
            return answers
        }
        let stat = try await target.call(.stat(PathRequest(path: "pipe")))
        await target.stop()
        #expect(answers.count == 2, "read_file or edit_file on a FIFO hung")
        #expect(answers["read"].flatMap { $0 }.flatMap(Self.errorCode) == "not_a_file")
        #expect(answers["edit"].flatMap { $0 }.flatMap(Self.errorCode) == "not_a_file")
        if case .stat(let info) = stat { #expect(info.kind == .other) } else { Issue.record("stat answered \(stat)") }
    }

    @Test("edit_file needs exactly one match", arguments: modes)
    func editMatches(mode: Mode) async throws {
        let scene = try Scene()
        defer { scene.remove() }
        let target = try await Self.start(mode, scene)
        let original = "one two two three\n"
        _ = try await target.call(.writeFile(WriteFileRequest(path: "e.txt", content: Data(original.utf8))))
        let none = try await target.call(.editFile(EditFileRequest(path: "e.txt", old: "four", new: "4")))
        let two = try await target.call(.editFile(EditFileRequest(path: "e.txt", old: "two", new: "2")))
        let empty = try await target.call(.editFile(EditFileRequest(path: "e.txt", old: "", new: "x")))
        let missing = try await target.call(.editFile(EditFileRequest(path: "absent.txt", old: "a", new: "b")))
        let unchanged = try await target.call(.readFile(PathRequest(path: "e.txt")))
        let one = try await target.call(.editFile(EditFileRequest(path: "e.txt", old: "two three", new: "3")))
        let after = try await target.call(.readFile(PathRequest(path: "e.txt")))
        await target.stop()

        #expect(Self.errorCode(none) == "no_match", "\(none)")
        #expect(Self.errorCode(two) == "ambiguous_match", "\(two)")
        #expect(Self.errorCode(empty) != nil)
        #expect(Self.errorCode(missing) == "not_found", "\(missing)")
        #expect(Self.content(unchanged) == Data(original.utf8))
        #expect(one == .ok)
        #expect(Self.content(after) == Data("one two 3\n".utf8))
    }
}
