import AirlockCore
import AirlockModels
import AirlockSandbox
import ArgumentParser
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run an agent on a task: the model's tool calls run in a sandbox.",
        discussion: """
        The loop asks the model, validates every tool call against its JSON Schema, runs it in \
        a sandbox on the workspace (--sandbox: auto, bwrap, oci, gvisor or landlock), and feeds the result back until the model calls \
        submit, replies without a tool call, or a budget stops it. Every step is recorded in a \
        hash-chained ledger in the state dir (`airlock show`, `airlock verify`).

        Models: openai:NAME (Chat Completions), anthropic:NAME (Messages), script:FILE (replays \
        a JSON file of assistant turns; no network). Keys come from --api-key-env (default \
        OPENAI_API_KEY / ANTHROPIC_API_KEY) and never enter the sandbox.

        Every flag can also be set in airlock.yaml (in the workspace, or --config FILE) or in \
        $XDG_CONFIG_HOME/airlock/config.yaml; flags win over the project file, which wins over \
        the user file (`airlock config show`, docs/config.md).

        Exit status: 0 submitted or answered; 2 usage or config error; 3 a budget ran out; \
        4 terminated; 5 the sandbox could not be started or kept alive; 6 the model provider \
        failed after retries; 1 anything else.

        Examples:
          airlock run "fix the failing test" --model script:examples/fix-test/script.json --workspace ./ws
          airlock run "add a README" --model openai:gpt-4o-mini --max-steps 20 --max-cost 0.50
          airlock run "…" --model openai:qwen --base-url http://127.0.0.1:8080/v1   # llama-server
          airlock run "…" --allow-host pypi.org --allow-host files.pythonhosted.org --max-egress 200M
          airlock run "…" --allow-host api.github.com --secret GITHUB_TOKEN --secret-host GITHUB_TOKEN=api.github.com
        """
    )

    @Argument(help: "What the agent should do.")
    var task: String

    @Option(name: .long, help: "openai:NAME, anthropic:NAME or script:FILE (default: $AIRLOCK_MODEL).")
    var model: String?

    @Option(name: .long, help: "Provider base URL: OpenAI-style ends in /v1, Anthropic-style is the host root.")
    var baseURL: String?

    @Option(name: .long, help: "Environment variable holding the API key.")
    var apiKeyEnv: String?

    @Option(name: .long, help: "Directory mounted read-write at /workspace (default: the current directory).")
    var workspace: String?

    @Option(name: .long, help: "Policy file (YAML, docs/policy.md): allow / ask / deny rules and rate limits for tool calls. Without an interactive approver, 'ask' is denied.")
    var policy: String?

    @Option(name: .long, help: "Who answers the policy's 'ask': tty (a prompt on this terminal), web (wait for `airlock approve`/`deny` from another shell) or deny. Default: tty when there is a terminal, else deny.")
    var approver: String?

    @OptionGroup(title: "Sandbox") var sandbox: SandboxOptions

    @OptionGroup(title: "Image") var image: ImageOptions

    @Flag(name: .long, help: "A fresh sandbox for every tool call instead of one for the run.")
    var freshSandboxPerCall = false

    @Flag(name: .long, help: "Copy the workspace at the start (reflinks where possible) so `airlock replay` can re-run the calls.")
    var snapshotWorkspace = false

    @Option(name: .long, help: "Most model calls.")
    var maxSteps: Int?

    @Option(name: .long, help: "Most tokens, input + output, as the provider reports them.")
    var maxTokens: Int?

    @Option(name: .long, help: "Most spend in USD (needs a price for the model; see --prices).")
    var maxCost: Double?

    @Option(name: .long, help: "Time for the whole run: 30s, 5m, 1h. Enforced during tool calls too.")
    var timeout: DurationValue?

    @Option(name: .long, help: "Time for each tool call (the model may ask for less with timeout_s).")
    var callTimeout: DurationValue?

    @Option(name: .long, help: "JSON file of prices: {\"prices\": {\"openai:NAME\": {\"input_per_mtok\": 2.5, \"output_per_mtok\": 10}}}.")
    var prices: String?

    @Option(name: .long, help: "Malformed tool calls in a row before the run ends (default 3).")
    var maxFormatErrors: Int?

    @Option(name: .long, help: "Sandbox memory limit, e.g. 2G.")
    var memory: ByteSize?

    @Option(name: .long, help: "Sandbox process limit.")
    var pids: Int?

    @Option(name: .long, help: "Sandbox CPU quota in cores.")
    var cpus: Double?

    @Flag(name: .long, help: "Ask the provider for a complete reply instead of a streamed one.")
    var noStream = false

    @Flag(name: .long, help: "One JSON event per line on stdout (run_started first, run_finished last).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("A regular expression whose matches are redacted from the ledger and every export (repeatable), besides API keys and key-shaped strings.", valueName: "regex"))
    var redact: [String] = []

    @Option(name: .long, help: ArgumentHelp("An environment variable of the harness whose value is a secret to redact everywhere (repeatable).", valueName: "var"))
    var secretEnv: [String] = []

    @Option(name: .long, help: "Ed25519 private key file (from `airlock keygen`) that signs the ledger's head at the end.")
    var signKey: String?

    @Flag(name: .long, help: "Put message content in OpenTelemetry spans (spans are sent only when OTEL_EXPORTER_OTLP_ENDPOINT or _TRACES_ENDPOINT is set; see docs/observability.md).")
    var otelContent = false

    @OptionGroup(title: "Network") var egress: EgressOptions

    @OptionGroup(title: "Config files") var configFiles: ConfigOptions

    @OptionGroup var state: StateOptions

    @OptionGroup(title: "Diagnostics") var log: LogOptions

    func validate() throws {
        if let maxSteps, maxSteps < 1 { throw ValidationError("--max-steps must be at least 1") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
        if let maxCost, maxCost <= 0 { throw ValidationError("--max-cost must be positive") }
        if let maxFormatErrors, maxFormatErrors < 1 { throw ValidationError("--max-format-errors must be at least 1") }
    }

    func run() async throws {
        try await Output.guarded {
            let (command, extras) = try applyingConfig(try configFiles.layers(workspace: workspace))
            let plan = try await RunPlan(command: command, extras: extras)
            let code = try await plan.execute()
            if code != 0 { throw ExitCode(code) }
        }
    }
}
