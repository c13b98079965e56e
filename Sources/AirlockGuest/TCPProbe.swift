import CAirlockSys

/// `airlock-guest --probe-tcp ADDRESS PORT`, for `airlock doctor`: whether a sandbox can open
/// a TCP connection to an address (the harness resolves names: a pod has no DNS).
public enum TCPProbe {
    /// 0 connected, 1 refused or unreachable, 2 no answer within the bound, 64 a bad address.
    public static func status(address: String, port: String, timeoutMs: Int32 = 3000) -> Int32 {
        guard let number = Int32(port), (1...65535).contains(number) else { return 64 }
        let result = airlock_probe_tcp(address, number, timeoutMs)
        return result < 0 ? 64 : result
    }
}
