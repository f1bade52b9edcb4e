-- bench/service: prints one machine-readable line after a wrk run (the same for every route).
-- Used alone for GET /me: with no request() function wrk keeps its fast pre-built request.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d max_us=%d " ..
    "status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50.0), latency:percentile(99.0), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout))
end
