import AirlockTestSupport
import Foundation
import Glibc
import Testing
@testable import AirlockImages

/// Layer semantics on real unpacks: whiteouts, opaque directories applied before their
/// siblings, hard links, symlinks stored as given, leading `/` stripped; and the three
/// ways an image arrives (OCI layout, both docker-archive forms).
@Suite struct UnpackTests {
    static func state() -> String {
        NSTemporaryDirectory() + "airlock-imgstate-\(UUID().uuidString.prefix(8))"
    }

    static func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    static func layers() -> [[UInt8]] {
        var base = TarBuilder()
        base.directory("etc/")
        base.file("/etc/hostname", "base\n")                     // leading slash: legal, stripped
        base.file("etc/gone", "to be whited out\n")
        base.directory("opaque/")
        base.file("opaque/lower-file", "hidden by the opaque marker\n")
        base.directory("opaque/keep-dir/")
        base.file("opaque/keep-dir/lower-nested", "hidden too\n")
        base.file("data/original", "shared inode\n")
        base.file("tool", "#!/bin/sh\n", mode: 0o4755)          // set-uid: dropped, recorded
        base.file("owned", "x\n", uid: 1234)
        base.entry("dev/null", .charDevice)                       // rootfs tarballs have these: skipped
        var top = TarBuilder()
        // Siblings first, the opaque marker last: the marker must not delete them.
        top.directory("opaque/")
        top.file("opaque/upper-file", "new in the top layer\n")
        top.directory("opaque/keep-dir/")
        top.file("opaque/keep-dir/upper-nested", "also new\n")
        top.file("opaque/.wh..wh..opq", "")
        top.file("etc/.wh.gone", "")
        top.hardLink("data/link", to: "data/original")
        top.symlink("abs-link", to: "/etc/hostname")
        top.symlink("rel-link", to: "../../../outside")        // stored as given, never followed
        return [base.archive, top.archive]
    }

    @Test func layerSemanticsOnAnOCILayout() throws {
        let fixture = try ImageFixture("semantics")
        defer { fixture.remove() }
        let state = Self.state()
        defer { ImageStore.removeTree(state) }
        let layout = try fixture.writeLayout("layout", layers: Self.layers())
        let store = ImageStore(stateDirectory: state)
        let image = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: "latest"), name: "sem")
        #expect(image.digest.description == layout.digest)
        let root = store.rootfs(image.digest)
        #expect(Self.read(root + "/etc/hostname") == "base\n")
        var device = stat()
        #expect(lstat(root + "/dev/null", &device) != 0, "a device node was created")
        #expect(access(root + "/etc/gone", F_OK) != 0)
        #expect(access(root + "/opaque/lower-file", F_OK) != 0)
        #expect(access(root + "/opaque/keep-dir/lower-nested", F_OK) != 0)
        #expect(Self.read(root + "/opaque/upper-file") == "new in the top layer\n")
        #expect(Self.read(root + "/opaque/keep-dir/upper-nested") == "also new\n")
        var original = stat(), link = stat()
        #expect(stat(root + "/data/original", &original) == 0 && stat(root + "/data/link", &link) == 0)
        #expect(original.st_ino == link.st_ino)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/abs-link") == "/etc/hostname")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/rel-link") == "../../../outside")
        var tool = stat()
        #expect(stat(root + "/tool", &tool) == 0)
        #expect(tool.st_mode & S_ISUID == 0)
        let owners = Self.read(store.imageDirectory(image.digest) + "/owners.json") ?? ""
        #expect(owners.contains("/tool") && owners.contains("2541"))      // 0o4755 recorded
        #expect(owners.contains("/owned") && owners.contains("1234"))
        for mountPoint in ["proc", "dev", "tmp", "run", "var/tmp", "workspace", ".airlock"] {
            var info = stat()
            #expect(lstat(root + "/" + mountPoint, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR, "mount point /\(mountPoint)")
        }
        #expect(try store.find("sem").digest == image.digest)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.directory + "/tmp").isEmpty)
    }

    @Test func dockerArchivesInBothForms() throws {
        let fixture = try ImageFixture("archives")
        defer { fixture.remove() }
        let state = Self.state()
        defer { ImageStore.removeTree(state) }
        let store = ImageStore(stateDirectory: state)
        let config = ImageFixture.Config(env: ["A=1"], workingDir: "/srv", user: "worker")
        var layer = TarBuilder()
        layer.file("etc/passwd", "root:x:0:0::/root:/bin/sh\nworker:x:4242:4343::/home/worker:/bin/sh\n")
        layer.directory("srv/")
        let legacy = try fixture.writeLegacyArchive("legacy", layers: [layer.archive], config: config)
        let first = try ImageImporter(store: store).importImage(.dockerArchive(file: legacy), name: "legacy")
        #expect(first.workingDirectory == "/srv")
        #expect(first.user == "worker" && first.uid == 4242 && first.gid == 4343)
        #expect(first.environmentMap["A"] == "1")
        #expect(first.layers.count == 1)
        let modern = try fixture.writeOCIArchive("modern", layers: [layer.archive], config: config)
        let second = try ImageImporter(store: store).importImage(.dockerArchive(file: modern.path), name: "modern")
        #expect(second.digest.description == modern.digest)
        #expect(Self.read(store.rootfs(second.digest) + "/etc/passwd")?.contains("worker") == true)
        let listed = try store.list()
        #expect(listed.count == 2)
        // rm drops the name and, with no name left, the tree; prune finds nothing more.
        #expect(try store.remove("legacy") == first.digest)
        #expect(access(store.imageDirectory(first.digest), F_OK) != 0)
        #expect(try store.list().count == 1)
        #expect(throws: ImageError.self) { try store.find("legacy") }
    }

    @Test func importingTheSameImageTwiceReusesIt() throws {
        let fixture = try ImageFixture("twice")
        defer { fixture.remove() }
        let state = Self.state()
        defer { ImageStore.removeTree(state) }
        let store = ImageStore(stateDirectory: state)
        let layout = try fixture.writeLayout("layout", layers: Self.layers())
        let one = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: nil), name: "a")
        let marker = store.rootfs(one.digest) + "/etc/hostname"
        var before = stat()
        #expect(stat(marker, &before) == 0)
        let two = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: nil), name: "b")
        var after = stat()
        #expect(stat(marker, &after) == 0)
        #expect(one.digest == two.digest && before.st_ino == after.st_ino)
        #expect(try store.readNames().count == 2)
        #expect(try store.remove("a") == nil)          // b still names it
        #expect(try store.prune().isEmpty)
    }

    @Test func referencesParse() throws {
        #expect(try ImageReference(parsing: "oci:/x/y:v1") == .ociLayout(directory: "/x/y", tag: "v1"))
        #expect(try ImageReference(parsing: "oci:./a/b") == .ociLayout(directory: "./a/b", tag: nil))
        #expect(try ImageReference(parsing: "docker-archive:/t/x.tar") == .dockerArchive(file: "/t/x.tar"))
        #expect(try ImageReference(parsing: "dir:/srv/root") == .directory("/srv/root"))
        #expect(try ImageReference(parsing: "busybox") == .stored("busybox"))
        #expect(throws: ImageError.self) { try ImageReference(parsing: "../etc") }
        #expect(throws: ImageError.self) { try Digest("sha256:../../../../etc/passwd") }
        #expect(throws: ImageError.self) { try Digest("sha512:" + String(repeating: "a", count: 128)) }
    }
}
