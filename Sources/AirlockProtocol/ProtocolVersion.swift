/// Version and limits of the harness ⇄ guest protocol.
///
/// Frames are newline-delimited JSON objects (one object a line) on the guest's stdin
/// (requests) and stdout (responses). Binary data (file contents, output chunks) travels
/// base64-encoded so every frame is valid UTF-8 JSON whatever the process wrote.
public enum ProtocolVersion {
    /// Bumped on any incompatible change of a frame's shape, or when a guest that does not
    /// know a frame would hang a harness that relies on it (2: egress streams, `stream_*`).
    public static let current = 2
    /// The largest frame either side accepts; a longer line is discarded up to its newline
    /// and answered with an error frame.
    public static let maxFrameBytes = 8 * 1024 * 1024
    /// Default cap of captured output per stream of one exec.
    public static let defaultOutputCap = 1024 * 1024
}
