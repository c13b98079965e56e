import Foundation
import Glibc

/// Everything one run measured, as printed (table) or encoded (--json).
struct Report: Codable {
    struct Figure: Codable {
        var name: String
        var n: Int
        var medianMs: Double
        var p99Ms: Double
        var p99OverP50: Double
        var minMs: Double
        var maxMs: Double
        var meanMs: Double

        init(_ series: Series) {
            name = series.name
            n = series.count
            medianMs = series.median
            p99Ms = series.p99
            p99OverP50 = series.tailRatio
            minMs = series.min
            maxMs = series.max
            meanMs = series.mean
        }
    }

    struct Target: Codable {
        var name: String
        var limit: Double
        var value: Double
        var met: Bool
    }

    struct PhaseFigure: Codable {
        var phase: String
        var note: String
        var figure: Figure
    }

    var machine: [String: String]
    var iterations: Int
    var start: [String: Figure]
    var exec: [String: Figure]
    var ratios: [String: Double]
    var targets: [Target]
    var phases: [PhaseFigure]

    init(options: Options, start: Comparisons.StartFigures, exec: Comparisons.ExecFigures, phases: [Phase]) {
        machine = Self.machine()
        iterations = options.iterations
        self.start = ["airlock": Figure(start.airlock), "rawBwrap": Figure(start.raw), "bare": Figure(start.bare),
                      "backendStart": Figure(start.backendStart), "kill": Figure(start.kill)]
        self.exec = ["warm": Figure(exec.warm), "bare": Figure(exec.bare)]
        let startRatio = ratio(start.airlock.median, start.raw.median)
        let execRatio = ratio(exec.warm.median, exec.bare.median)
        ratios = ["airlockStartOverRawBwrap": startRatio,
                  "rawBwrapOverBare": ratio(start.raw.median, start.bare.median),
                  "airlockStartOverBare": ratio(start.airlock.median, start.bare.median),
                  "warmExecOverBare": execRatio]
        let headline = [start.airlock, start.raw, start.bare, exec.warm, exec.bare]
        let worstTail = headline.map(\.tailRatio).max() ?? 0
        targets = [
            Target(name: "sandbox start ≤ 1.5 × raw bwrap", limit: 1.5, value: startRatio, met: startRatio <= 1.5),
            Target(name: "warm exec ≤ 2 × bare fork/exec", limit: 2, value: execRatio, met: execRatio <= 2),
            Target(name: "p99 ≤ 3 × p50 (worst series)", limit: 3, value: worstTail, met: worstTail <= 3),
        ]
        self.phases = phases.map { PhaseFigure(phase: $0.key, note: $0.note, figure: Figure($0.series)) }
    }

    static func machine() -> [String: String] {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ["cpus": String(sysconf(Int32(_SC_NPROCESSORS_ONLN))), "kernel": release,
                "euid": String(geteuid()), "date": ISO8601DateFormatter().string(from: Date())]
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    func table() -> String {
        var lines: [String] = []
        lines.append("airlock-bench — \(iterations) iterations, \(machine["cpus"] ?? "?") CPUs, kernel \(machine["kernel"] ?? "?"), euid \(machine["euid"] ?? "?")")
        lines.append("")
        lines.append(row("series", "median ms", "p99 ms", "p99/p50"))
        let ordered: [(String, Figure?)] = [
            ("1. airlock start → first result", start["airlock"]),
            ("   raw bwrap (same flags) /bin/true", start["rawBwrap"]),
            ("   bare fork/exec/wait /bin/true", start["bare"]),
            ("2. warm exec round trip /bin/true", exec["warm"]),
            ("   bare fork/exec/wait /bin/true", exec["bare"]),
        ]
        for (label, figure) in ordered {
            guard let figure else { continue }
            lines.append(row(label, fmt(figure.medianMs), fmt(figure.p99Ms), fmt(figure.p99OverP50, 2) + "×"))
        }
        if let inside = start["backendStart"], let kill = start["kill"] {
            lines.append("   (backend's own start figure: median \(fmt(inside.medianMs)) ms; kill, not timed above: median \(fmt(kill.medianMs)) ms)")
        }
        lines.append("")
        lines.append("ratios (medians): airlock start / raw bwrap \(fmt(ratios["airlockStartOverRawBwrap"] ?? 0, 2))×, "
            + "raw bwrap / bare \(fmt(ratios["rawBwrapOverBare"] ?? 0, 2))×, "
            + "warm exec / bare \(fmt(ratios["warmExecOverBare"] ?? 0, 2))×")
        lines.append("targets: " + targets.map { "\($0.name): \(fmt($0.value, 2))× \($0.met ? "met" : "NOT met")" }
            .joined(separator: "; "))
        if !phases.isEmpty {
            lines.append("")
            lines.append("start path, phase by phase:")
            lines.append(row("phase", "median ms", "p99 ms", "p99/p50"))
            for phase in phases {
                lines.append(row(phase.phase, fmt(phase.figure.medianMs), fmt(phase.figure.p99Ms),
                                 fmt(phase.figure.p99OverP50, 2) + "×"))
            }
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ label: String, _ a: String, _ b: String, _ c: String) -> String {
        pad(label, 52) + lpad(a, 10) + lpad(b, 10) + lpad(c, 9)
    }
}

func fmt(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

private func lpad(_ text: String, _ width: Int) -> String {
    text.count >= width ? " " + text : String(repeating: " ", count: width - text.count) + text
}
