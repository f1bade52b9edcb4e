-- bench/service: POST /cart/items with a JSON body and a unique Idempotency-Key per request.
-- wrk -s cart.lua URL -- PREFIX   (PREFIX keeps keys unique across runs against one store)
-- The Cookie header comes from wrk -H and is kept: wrk.format reuses wrk.headers.
local prefix = "k"
local counter = 0
thread_id = 0    -- set per thread by setup() (thread:set), after this file is loaded
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_id", next_thread)
end

function init(args)
  if args[1] then prefix = args[1] end
  wrk.method = "POST"
  wrk.body = '{"sku":"sku-002","qty":1}'
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. thread_id .. "-" .. counter
  return wrk.format()
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50.0), latency:percentile(99.0), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
