import Foundation

/// Copies of a workspace: taken at a run's start (`run --snapshot-workspace`) and for each
/// replay. `cp -a --reflink=auto` shares blocks where the filesystem can (btrfs, xfs) and
/// copies elsewhere.
public enum WorkspaceSnapshot {
    public static func directory(for run: String, stateDirectory: URL) -> URL {
        stateDirectory.appendingPathComponent("snapshots/\(run)", isDirectory: true)
    }

    /// Copies the contents of `source` into `destination` (created; must not exist).
    public static func copy(_ source: String, to destination: String) throws {
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/cp")
        process.arguments = ["-a", "--reflink=auto", "--", source + "/.", destination + "/"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let message = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey:
                "copying \(source) to \(destination) failed: \(String(decoding: message, as: UTF8.self))"])
        }
    }
}
