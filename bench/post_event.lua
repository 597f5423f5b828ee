-- wrk script for figure 2: POST one realistic NoteSent to a fresh note stream per request.
-- Usage: wrk -s bench/post_event.lua URL -- <run prefix> <body file>
-- Each thread numbers its own streams, so every request opens a new stream
-- (note-<prefix>-t<thread>-<n>) and the domain rules accept it.
-- done() prints one JSON line that bench/served.py reads.

local threads = {}
local counter = 0
local prefix = "run"
local body = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  prefix = args[1] or "run"
  local file = assert(io.open(args[2], "rb"))
  body = file:read("*a")
  file:close()
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  -- The service's writer token, from bench/served.py (empty for the bare app).
  local authorization = os.getenv("BENCH_AUTHORIZATION")
  if authorization and authorization ~= "" then
    wrk.headers["Authorization"] = authorization
  end
end

function request()
  counter = counter + 1
  local path = "/streams/note-" .. prefix .. "-t" .. tid .. "-" .. counter .. "/events"
  return wrk.format("POST", path, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"latency_p50_us": %d, "latency_p99_us": %d, "latency_mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
