// bench/jobs: the BullMQ 5 contender. One Node process enqueues N jobs into a Queue and runs a
// Worker (concurrency C) whose processor does nothing but return, all on one redis-server.
//
//   node bench/jobs/bullmq_bench.mjs --port P [--host 127.0.0.1] [--jobs 20000] [--concurrency 16]
//        [--payload-bytes 100] [--window 64] [--timeout 300] [--warmup 2000]
//
// First `warmup` jobs (keys w0, w1, ...), not measured: V8 compiles the hot paths, as in a worker
// that has been running (outboard's side, compiled ahead of time, has none; its first jobs pay for
// its connections and scripts). Then the N measured jobs (keys k0, k1, ...).
// Like outboard's side (jobs_bench.cpp), every job is enqueued ONE BY ONE with its own dedupe key
// (BullMQ: a custom jobId; outboard: the job's key), with at most `window` enqueues in flight, and
// the Worker runs from before the first enqueue. Each payload is a JSON text of exactly
// `payload-bytes` bytes holding its enqueue time (µs, this process's monotonic clock); the Worker's
// "completed" event (emitted once moveToCompleted has returned: the job is acknowledged in redis)
// gives the end-to-end latency. Throughput: N / (last completion - first enqueue).
// BullMQ's defaults otherwise: lock renewal and the stalled-job check on (as outboard renews and
// reclaims leases), completed jobs kept (as outboard keeps a done job for dedupe).
// Prints one JSON line on stdout; exits 1 when the run did not finish within the timeout (each batch).
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';

function parseArgs(argv) {
  const opts = { host: '127.0.0.1', port: 0, jobs: 20000, warmup: 2000, concurrency: 16, payloadBytes: 100, window: 64, timeout: 300 };
  const names = { '--host': 'host', '--port': 'port', '--jobs': 'jobs', '--warmup': 'warmup', '--concurrency': 'concurrency',
    '--payload-bytes': 'payloadBytes', '--window': 'window', '--timeout': 'timeout' };
  for (let i = 2; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) throw new Error(`unknown option or missing value: ${argv[i]}`);
    opts[key] = key === 'host' ? argv[i + 1] : Number(argv[i + 1]);
  }
  for (const k of ['port', 'jobs', 'concurrency', 'payloadBytes', 'window', 'timeout']) {
    if (!Number.isInteger(opts[k]) || opts[k] <= 0) throw new Error(`--${k} must be a positive integer`);
  }
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) throw new Error('--warmup must be an integer >= 0');
  if (opts.payloadBytes < 48) throw new Error('--payload-bytes must be at least 48');
  return opts;
}

const nowUs = () => Math.round(performance.now() * 1000);

// {"t":<µs>,"i":<index>,"pad":"xx..."} of exactly `bytes` bytes once serialized, as BullMQ stores it.
function payload(t, i, bytes) {
  const bare = JSON.stringify({ t, i, pad: '' }).length;
  return { t, i, pad: 'x'.repeat(Math.max(0, bytes - bare)) };
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

// Enqueues `jobs` jobs (keys `${prefix}${i}`) while the worker runs, until all are acknowledged or
// the deadline; the worker's events go to this batch through `sink`.
async function runBatch(queue, sink, opts, prefix, jobs, deadlineMs) {
  const batch = { latenciesUs: new Float64Array(jobs), completed: 0, failed: 0, enqueueErrors: 0, lastDone: 0, timedOut: false };
  let finish;
  const allDone = new Promise((resolve) => { finish = resolve; });
  sink.completed = (job) => {
    const t = nowUs();
    if (batch.completed < jobs) batch.latenciesUs[batch.completed] = t - job.data.t;
    batch.completed += 1;
    batch.lastDone = t;
    if (batch.completed + batch.failed >= jobs) finish();
  };
  sink.failed = () => { batch.failed += 1; if (batch.completed + batch.failed >= jobs) finish(); };
  const timer = setTimeout(() => { batch.timedOut = true; finish(); }, deadlineMs);

  const cpu0 = process.cpuUsage();
  batch.t0 = nowUs();
  let next = 0;
  const producer = async () => {
    while (next < jobs) {
      const i = next++;
      try {
        await queue.add('bench', payload(nowUs(), i, opts.payloadBytes), { jobId: `${prefix}${i}` });
      } catch (err) {
        batch.enqueueErrors += 1;
        sink.failed();
        if (batch.enqueueErrors === 1) process.stderr.write(`queue.add: ${err.message}\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.window, jobs) }, producer));
  batch.enqueuedAt = nowUs();
  await allDone;
  clearTimeout(timer);
  batch.cpu = process.cpuUsage(cpu0);
  return batch;
}

async function main() {
  const opts = parseArgs(process.argv);
  const connection = { host: opts.host, port: opts.port, maxRetriesPerRequest: null };
  const queue = new Queue('bench', { connection });
  const worker = new Worker('bench', async () => null, { connection, concurrency: opts.concurrency, autorun: false });
  await queue.waitUntilReady();
  await worker.waitUntilReady();
  const sink = { completed: () => {}, failed: () => {} };
  worker.on('completed', (job) => sink.completed(job));
  worker.on('failed', () => sink.failed());
  worker.on('error', (err) => { process.stderr.write(`worker error: ${err.message}\n`); });
  worker.run().catch((err) => { process.stderr.write(`worker.run: ${err.message}\n`); });

  // The warm-up: V8 compiles the hot paths, the connections and scripts are ready; not measured.
  if (opts.warmup > 0) await runBatch(queue, sink, opts, 'w', opts.warmup, opts.timeout * 1000);
  const b = await runBatch(queue, sink, opts, 'k', opts.jobs, opts.timeout * 1000);

  const lat = Array.from(b.latenciesUs.subarray(0, Math.min(b.completed, opts.jobs))).sort((x, y) => x - y);
  const elapsedS = ((b.completed ? b.lastDone : nowUs()) - b.t0) / 1e6;
  const line = {
    contender: 'bullmq', backend: 'redis', jobs: opts.jobs, warmup: opts.warmup, concurrency: opts.concurrency,
    payload_bytes: JSON.stringify(payload(nowUs(), opts.jobs - 1, opts.payloadBytes)).length, window: opts.window,
    completed: b.completed, failed: b.failed, enqueue_errors: b.enqueueErrors, timed_out: b.timedOut,
    enqueue_s: (b.enqueuedAt - b.t0) / 1e6, elapsed_s: elapsedS, jobs_per_s: b.completed / elapsedS,
    p50_ms: percentile(lat, 50) / 1000, p99_ms: percentile(lat, 99) / 1000, max_ms: lat.length ? lat[lat.length - 1] / 1000 : null,
    cpu_s: (b.cpu.user + b.cpu.system) / 1e6,
    cpu_total_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    bullmq: (await import('bullmq/package.json', { with: { type: 'json' } })).default.version,
  };
  process.stdout.write(JSON.stringify(line) + '\n');
  await Promise.race([Promise.all([worker.close(true), queue.close()]), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(b.timedOut || b.completed < opts.jobs ? 1 : 0);
}

main().catch((err) => { process.stderr.write(`bullmq_bench: ${err.stack || err}\n`); process.exit(2); });
