import CAirlockSeccomp

/// Airlock's seccomp filter in the OCI JSON form (runc and runsc compile it themselves):
/// the same calls refused with EPERM, namespace flags on clone, clone3 as ENOSYS so libc
/// falls back to clone (not under runsc, see `profile`), personality only the default, no
/// TIOCSTI or TIOCLINUX.
enum OCISeccomp {
    static let namespaceFlags: [UInt64] = [0x0002_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000,
                                           0x2000_0000, 0x4000_0000, 0x0200_0000]
    static let eperm = 1
    static let enosys = 38

    static func deniedNames() -> [String] {
        var names: [String] = []
        guard let list = airlock_seccomp_denied_names() else { return names }
        var index = 0
        while let name = list[index] {
            names.append(String(cString: name))
            index += 1
        }
        return names
    }

    /// - Parameter clone3: refuse clone3 as ENOSYS. Not for runsc: its 2022 build answers
    ///   every refusal with EPERM (it ignores errnoRet), and glibc creates threads with clone3
    ///   falling back to clone only on ENOSYS; namespaces made in gVisor's sentry are not
    ///   the host's anyway.
    static func profile(clone3: Bool = true) -> [String: Any] {
        var rules: [[String: Any]] = [
            ["names": deniedNames(), "action": "SCMP_ACT_ERRNO", "errnoRet": eperm],
            ["names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": eperm,
             "args": [["index": 0, "value": 0, "op": "SCMP_CMP_NE"]]],
        ]
        if clone3 { rules.append(["names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": enosys]) }
        for flag in namespaceFlags {
            rules.append(["names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": eperm,
                          "args": [["index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"]]])
        }
        for request in [0x5412 /* TIOCSTI */, 0x541C /* TIOCLINUX */] {
            rules.append(["names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": eperm,
                          "args": [["index": 1, "value": request, "valueTwo": 0xffff_ffff, "op": "SCMP_CMP_MASKED_EQ"]]])
        }
        // Only the native architecture: a call from another one (int 0x80) is refused
        // outright, as the BPF program does.
        #if arch(arm64)
        let architectures = ["SCMP_ARCH_AARCH64"]
        #else
        let architectures = ["SCMP_ARCH_X86_64"]
        #endif
        return ["defaultAction": "SCMP_ACT_ALLOW", "architectures": architectures, "syscalls": rules]
    }
}
