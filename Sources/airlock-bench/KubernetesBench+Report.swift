import AirlockKubernetes
import Foundation

/// `airlock-bench kubernetes`'s arguments, its table and its JSON.
extension KubernetesBench {
    static let usage = """
        usage: airlock-bench kubernetes [RUNS] [--execs N] [--copy-mib N] [--kubeconfig FILE] [--kube-context C]
                                        [--namespace NS] [--image REF] [--guest-image REF] [--json]
        RUNS pod starts (default 5) each way, N exec round trips (30) and a copy of N MiB (32) three times each
        way, against kubectl (run + wait + exec; exec per command; exec -i cat) on the same cluster in the same run.
        The kubeconfig defaults to $AIRLOCK_K8S_KUBECONFIG, then $KUBECONFIG; the image to $AIRLOCK_K8S_IMAGE; kubectl
        is $AIRLOCK_BENCH_KUBECTL, else the test cluster's (Debian's kubernetes-client), /usr/bin/kubectl, PATH.
        """

    /// Parses the mode's arguments (after `kubernetes`); an error message, or the bench and `--json`.
    static func parse(_ arguments: [String]) -> Result<(KubernetesBench, Bool), BenchError> {
        let environment = ProcessInfo.processInfo.environment
        var runs = 5, execs = 30, copyMiB = 32, json = false
        var options = KubernetesOptions(image: environment["AIRLOCK_K8S_IMAGE"] ?? KubernetesOptions.defaultImage)
        options.kubeconfig = environment["AIRLOCK_K8S_KUBECONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var index = 0
        func value() -> String? {
            index += 1
            return index < arguments.count ? arguments[index] : nil
        }
        while index < arguments.count {
            let argument = arguments[index]
            switch argument {
            case "--json": json = true
            case "--help", "-h": return .failure(BenchError(usage))
            case "--execs", "--copy-mib":
                guard let text = value(), let number = Int(text), number > 0 else { return .failure(BenchError("\(argument) needs a positive number\n\n\(usage)")) }
                if argument == "--execs" { execs = number } else { copyMiB = number }
            case "--kubeconfig", "--kube-context", "--namespace", "--image", "--guest-image":
                guard let text = value() else { return .failure(BenchError("\(argument) needs a value\n\n\(usage)")) }
                switch argument {
                case "--kubeconfig": options.kubeconfig = text
                case "--kube-context": options.context = text
                case "--namespace": options.namespace = text
                case "--image": options.image = text
                default: options.guestImage = text
                }
            default:
                guard let number = Int(argument), number > 0 else { return .failure(BenchError("unknown argument \(argument)\n\n\(usage)")) }
                runs = number
            }
            index += 1
        }
        guard let path = Kubectl.locate() else {
            return .failure(BenchError("no kubectl: install Debian's kubernetes-client (scripts/setup.sh does), or put one on PATH"))
        }
        let kubectl = Kubectl(path: path, kubeconfig: options.kubeconfig ?? environment["KUBECONFIG"],
                              namespace: options.namespace)
        options.startTimeout = .seconds(90)
        return .success((KubernetesBench(runs: runs, execs: execs, copyMiB: copyMiB, options: options, kubectl: kubectl), json))
    }

    static func table(_ figures: Figures) -> String {
        func row(_ series: Series) -> String {
            "  " + series.name.padding(toLength: 46, withPad: " ", startingAt: 0)
                + String(format: "%9.1f %9.1f %7.2f×", series.median, series.p99, series.tailRatio)
        }
        let header = "  " + "series".padding(toLength: 46, withPad: " ", startingAt: 0) + "median ms    p99 ms  p99/p50"
        var lines = ["airlock-bench kubernetes — \(figures.start.first?.count ?? 0) starts, \(figures.exec.first?.count ?? 0) execs, "
                     + "\(figures.copyMiB) MiB copies; kubectl: \(figures.kubectl)", "", "1. pod create → first result", header]
        lines += figures.start.map(row)
        lines += ["   where airlock's start goes (each step's own time):"] + figures.startPhases.map { "  " + row($0) }
        lines += ["", "2. exec round trip in a running pod", header] + figures.exec.map(row)
        lines += ["", "3. workspace copy (\(figures.copyMiB) MiB)", header] + figures.copy.map(row)
        let ratios = Self.ratios(figures)
        lines.append("")
        lines.append(String(format: "ratios (medians): start airlock/kubectl %.2f×, exec guest stream/kubectl exec %.2f×, "
                            + "exec guest stream/new WebSocket exec %.2f×", ratios.start, ratios.exec, ratios.execSocket))
        lines.append(String(format: "copy: airlock in %.1f MiB/s, kubectl in %.1f MiB/s (%.2f× its time); airlock back %.1f MiB/s, "
                            + "kubectl back %.1f MiB/s (%.2f× its time)", ratios.rates[0], ratios.rates[1], ratios.copyIn,
                            ratios.rates[2], ratios.rates[3], ratios.copyOut))
        lines.append("targets: start ≤ 1 × kubectl's: " + String(format: "%.2f× ", ratios.start) + (ratios.start <= 1 ? "met" : "NOT met")
                     + "; exec round trip ≤ 0.5 × kubectl exec's: " + String(format: "%.2f× ", ratios.exec) + (ratios.exec <= 0.5 ? "met" : "NOT met"))
        return lines.joined(separator: "\n")
    }

    struct Ratios: Codable {
        var start: Double
        var exec: Double
        var execSocket: Double
        var copyIn: Double
        var copyOut: Double
        /// MiB/s: airlock in, kubectl in, airlock back, kubectl back.
        var rates: [Double]
    }

    static func ratios(_ figures: Figures) -> Ratios {
        func median(_ list: [Series], _ index: Int) -> Double { index < list.count ? list[index].median : 0 }
        let rates = (0..<4).map { ratio(Double(figures.copyMiB), median(figures.copy, $0) / 1000) }
        return Ratios(start: ratio(median(figures.start, 0), median(figures.start, 1)),
                      exec: ratio(median(figures.exec, 0), median(figures.exec, 2)),
                      execSocket: ratio(median(figures.exec, 0), median(figures.exec, 1)),
                      copyIn: ratio(median(figures.copy, 0), median(figures.copy, 1)),
                      copyOut: ratio(median(figures.copy, 2), median(figures.copy, 3)), rates: rates)
    }

    static func json(_ figures: Figures) -> String {
        struct Document: Codable {
            var figures: Figures
            var ratios: Ratios
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        guard let data = try? encoder.encode(Document(figures: figures, ratios: ratios(figures))) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
