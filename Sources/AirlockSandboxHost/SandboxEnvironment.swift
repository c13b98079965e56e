import AirlockSandbox

/// The environment every command in a namespaced sandbox starts from, built from nothing
/// so no variable of the harness leaks in (requests add their own on top), and the
/// identity files it sees. Shared by the bwrap and OCI backends.
package enum SandboxEnvironment {
    package static let insideUID: UInt32 = 1000
    package static let insideGID: UInt32 = 1000

    package static func standard(_ configuration: SandboxConfiguration) -> [String: String] {
        var env = [
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "HOME": "/workspace",
            "USER": "agent",
            "LOGNAME": "agent",
            "SHELL": "/bin/sh",
            "LANG": "C.UTF-8",
            "TMPDIR": "/tmp",
        ]
        if configuration.network == .proxy, let egress = configuration.egress {
            for (key, value) in egress.environment { env[key] = value }
        }
        for (key, value) in configuration.environment { env[key] = value }
        return env
    }

    package static let passwd = """
        root:x:0:0:root:/nonexistent:/usr/sbin/nologin
        agent:x:\(insideUID):\(insideGID):Airlock sandbox:/workspace:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

        """
    package static let group = """
        root:x:0:
        agent:x:\(insideGID):
        nogroup:x:65534:

        """
}
