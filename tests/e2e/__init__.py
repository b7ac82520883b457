"""End-to-end suites against a real server process: money safety under concurrency (bank)
and crash safety (SIGKILL mid-load)."""
