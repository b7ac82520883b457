"""Benchmarks (`make bench`): the real server under wrk, pgbench as the reference, py-spy
profiles; the report lands in bench/results/latest.md. See docs/performance.md."""
