"""Load generation shared by the end-to-end tests (tests/e2e) and the benchmark (bench/): the
"bank" money-safety workload (`loadgen.bank`) and real `customer-credit serve` processes on
scratch databases (`loadgen.server`). Neither tests nor bench is imported from here, so both
can depend on it. Importable from the repository root, like `bench` (pytest puts the root on
sys.path for the `tests` package; `python -m bench` runs from the root)."""
