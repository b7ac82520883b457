-- Shared by every scenario (prepended to it by bench/wrk.py): counts responses by status
-- class in each thread and prints one JSON line, BENCH_RESULT {...}, when the run is done.
local threads = {}
local started = 0

-- BENCH_PORTS (bench/wrk.py sets it for a run over several server processes): the threads take
-- the ports in turn, as a load balancer spreads connections over its nodes.
local spread_ports = {}
for port in string.gmatch(os.getenv("BENCH_PORTS") or "", "%d+") do
  table.insert(spread_ports, port)
end

function setup(thread)
  thread:set("thread_index", started)
  if #spread_ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", spread_ports[(started % #spread_ports) + 1])[1]
  end
  started = started + 1
  table.insert(threads, thread)
end

ok, client_errors, server_errors, conflicts, other, cycles, broken = 0, 0, 0, 0, 0, 0, 0

function count_status(status)
  if status >= 200 and status < 300 then
    ok = ok + 1
  elseif status >= 500 then
    server_errors = server_errors + 1
  elseif status >= 400 then
    client_errors = client_errors + 1
    if status == 409 then conflicts = conflicts + 1 end
  else
    other = other + 1
  end
end

-- wrk.format replaces wrk.headers (the -H ones: credentials) by the table it is given.
function with_headers(extra)
  local merged = {}
  for name, value in pairs(wrk.headers) do merged[name] = value end
  for name, value in pairs(extra or {}) do merged[name] = value end
  return merged
end

function load_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if #line > 0 then table.insert(lines, line) end
  end
  return lines
end

local function sum(name)
  local total = 0
  for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
  return total
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "ok": %d, "client_errors": %d, ' ..
    '"server_errors": %d, "conflicts": %d, "other": %d, "cycles": %d, "broken_cycles": %d, ' ..
    '"socket_connect": %d, "socket_read": %d, "socket_write": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, sum("ok"), sum("client_errors"), sum("server_errors"),
    sum("conflicts"), sum("other"), sum("cycles"), sum("broken"),
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
