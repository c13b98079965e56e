// AirlockEgress: the harness-side HTTP forward proxy that is a sandbox's only way out.
