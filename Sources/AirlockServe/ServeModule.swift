// AirlockServe: `airlock serve`, the web page for runs, transcripts and approvals.
