import AirlockCore
import AirlockKubernetes
import AirlockModels

/// The kubernetes tier's options as `run_started` records them, and back (for `resume`).
enum KubernetesRecord {
    static func payload(_ options: KubernetesOptions) -> JSONValue {
        var object: [String: JSONValue] = ["image": .string(options.image), "guest_image": .string(options.guestImage)]
        if let value = options.kubeconfig { object["kubeconfig"] = .string(value) }
        if let value = options.context { object["context"] = .string(value) }
        if let value = options.namespace { object["namespace"] = .string(value) }
        if let value = options.runtimeClass { object["runtime_class"] = .string(value) }
        object["workspace_limit_bytes"] = .int(options.workspaceLimitBytes)
        return .object(["kubernetes": .object(object)])
    }

    static func options(_ recorded: JSONValue) -> KubernetesOptions {
        let record = recorded["kubernetes"]
        var options = KubernetesOptions(image: record?["image"]?.stringValue ?? KubernetesOptions.defaultImage)
        if let value = record?["guest_image"]?.stringValue { options.guestImage = value }
        options.kubeconfig = record?["kubeconfig"]?.stringValue
        options.context = record?["context"]?.stringValue
        options.namespace = record?["namespace"]?.stringValue
        options.runtimeClass = record?["runtime_class"]?.stringValue
        if let value = record?["workspace_limit_bytes"]?.intValue { options.workspaceLimitBytes = value }
        return options
    }
}
