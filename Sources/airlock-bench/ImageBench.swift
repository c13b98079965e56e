import AirlockImages
import AirlockProtocol
import AirlockSandbox
import AirlockBubblewrap
import Foundation
import Glibc

/// `airlock-bench image [RUNS]`: import/unpack throughput against `umoci unpack` on the
/// same OCI layout, and sandbox start → first result on an image (read-only and with the
/// per-sandbox copy) against the same start on the host's /usr. All in one run.
enum ImageBench {
    static func run(runs: Int, workspace: String) async throws -> String {
        let scratch = NSTemporaryDirectory() + "airlock-imgbench-\(getpid())"
        defer { ImageStore.removeTree(scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        Progress.say("building a test image (busybox + /usr/lib/python3.11 as layers)…")
        let layout = try BenchImage.build(in: scratch)
        let bytes = layout.uncompressedBytes
        var lines = ["image: \(layout.path) — \(layout.layers) layers, \(bytes >> 20) MiB uncompressed, \(layout.files) entries"]

        var ours: [Double] = []
        for index in 0..<runs {
            let store = ImageStore(stateDirectory: scratch + "/state-\(index)")
            let clock = ContinuousClock.now
            _ = try ImageImporter(store: store).importImage(.ociLayout(directory: layout.path, tag: nil), name: "bench")
            ours.append((ContinuousClock.now - clock).milliseconds)
            if index < runs - 1 { ImageStore.removeTree(scratch + "/state-\(index)") }
        }
        var umoci: [Double] = []
        let candidates: [String] = ["/usr/bin/umoci", "/usr/sbin/umoci"]
        if let tool = candidates.first(where: { access($0, X_OK) == 0 }) {
            for index in 0..<runs {
                let bundle = scratch + "/umoci-\(index)"
                let clock = ContinuousClock.now
                try ChildRun.check(tool, ["unpack", "--rootless", "--image", layout.path + ":latest", bundle])
                umoci.append((ContinuousClock.now - clock).milliseconds)
                ImageStore.removeTree(bundle)
            }
        } else {
            lines.append("umoci: not installed (apt-get install umoci), no baseline")
        }
        let oursSeries = Series(name: "airlock import", samples: ours)
        lines.append(String(format: "airlock image import (verify + unpack): median %.0f ms, %.0f MiB/s", oursSeries.median,
                            Double(bytes) / 1_048_576 / (oursSeries.median / 1000)))
        if !umoci.isEmpty {
            let umociSeries = Series(name: "umoci", samples: umoci)
            lines.append(String(format: "umoci unpack --rootless:                median %.0f ms, %.0f MiB/s", umociSeries.median,
                                Double(bytes) / 1_048_576 / (umociSeries.median / 1000)))
            lines.append(String(format: "throughput vs umoci: %.2fx (higher is better)", ratio(umociSeries.median, oursSeries.median)))
        }

        // Sandbox start to first result: host /usr, image read-only, image with a copy.
        let store = ImageStore(stateDirectory: scratch + "/state-\(runs - 1)")
        let image = try store.find("bench")
        let small = try BenchImage.busybox(in: scratch, store: store)
        func measure(_ root: SandboxRoot, _ count: Int) async throws -> Series {
            var samples: [Double] = []
            for _ in 0..<count {
                var configuration = SandboxConfiguration(workspace: workspace)
                configuration.root = root
                let clock = ContinuousClock.now
                let sandbox = try await BubblewrapBackend().start(configuration)
                _ = try await sandbox.guest.exec(ExecRequest(argv: ["/bin/true"]))
                samples.append((ContinuousClock.now - clock).milliseconds)
                await sandbox.kill()
            }
            return Series(name: "", samples: samples)
        }
        let starts = max(runs * 4, 10)
        let host = try await measure(.host, starts)
        let readOnly = try await measure(.image(store.sandboxRoot(for: small, writable: .readOnly)), starts)
        let overlaySmall = try await measure(.image(store.sandboxRoot(for: small, writable: .overlay)), starts)
        let overlayBig = try await measure(.image(store.sandboxRoot(for: image, writable: .overlay)), starts)
        let copySmall = try await measure(.image(store.sandboxRoot(for: small, writable: .copy)), starts)
        let copyBig = try await measure(.image(store.sandboxRoot(for: image, writable: .copy)), max(runs, 3))
        lines.append(String(format: "sandbox start → /bin/true, host /usr:              median %.1f ms", host.median))
        lines.append(String(format: "  busybox image, read-only root:                  median %.1f ms  (%.2fx host)", readOnly.median, ratio(readOnly.median, host.median)))
        lines.append(String(format: "  busybox image, overlay root:                    median %.1f ms  (%.2fx host; overlay share %.1f ms)",
                            overlaySmall.median, ratio(overlaySmall.median, host.median), overlaySmall.median - readOnly.median))
        lines.append(String(format: "  %d MiB image, overlay root:                    median %.1f ms  (%.2fx host)",
                            bytes >> 20, overlayBig.median, ratio(overlayBig.median, host.median)))
        lines.append(String(format: "  busybox image, writable copy:                   median %.1f ms  (%.2fx host; copy share %.1f ms)",
                            copySmall.median, ratio(copySmall.median, host.median), copySmall.median - readOnly.median))
        lines.append(String(format: "  %d MiB image, writable copy:                   median %.1f ms  (%.2fx host; copy share %.1f ms)",
                            bytes >> 20, copyBig.median, ratio(copyBig.median, host.median), copyBig.median - readOnly.median))
        return lines.joined(separator: "\n")
    }
}

/// A child process run to completion; a non-zero exit is an error with its stderr.
enum ChildRun {
    @discardableResult
    static func check(_ tool: String, _ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let detail = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("\(tool) \(arguments.joined(separator: " ")) failed: \(String(decoding: detail, as: UTF8.self).prefix(300))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
