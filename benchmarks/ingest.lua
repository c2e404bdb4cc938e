-- wrk script for benchmarks/ingest.py: POST one signed GitHub webhook delivery,
-- again and again, each with its own X-GitHub-Delivery id.
--
-- Arguments (after `--` on the wrk command line):
--   1 path of the body file (sent verbatim; the signature covers these bytes)
--   2 X-Hub-Signature-256 value ("sha256=<hex>")
--   3 X-GitHub-Event value (e.g. "push")
--   4 run nonce: 8 hex digits, new for every wrk run, so ids never repeat
--     across runs against the same database
--
-- Delivery ids are UUID-shaped: <nonce>-<thread>-4<rand>-a<rand>-<counter>,
-- where <thread> and the two <rand> parts form a per-thread prefix and
-- <counter> counts that thread's requests.
--
-- done() prints one line, "WRK_RESULT {json}", that ingest.py parses: totals,
-- socket errors, the status classes counted in response(), and latency
-- percentiles in microseconds.

local threads = {}

-- Runs in the main Lua state, once per thread, before the threads start.
function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_id", #threads)
end

local head, tail
local prefix
-- Per-thread status counts. They are globals of the thread's Lua state so
-- that done(), in the main state, can read them with thread:get().
c1, c2, c3, c4, c5, cother, sent = 0, 0, 0, 0, 0, 0, 0

local function read_file(path)
   local f = assert(io.open(path, "rb"), "cannot open body file " .. tostring(path))
   local data = f:read("*a")
   f:close()
   return data
end

-- Runs in each thread's own Lua state.
function init(args)
   local body_path, signature, event, nonce = args[1], args[2], args[3], args[4]
   assert(body_path and signature and event and nonce,
          "usage: wrk -s ingest.lua URL -- BODY_FILE SIGNATURE EVENT NONCE")
   local body = read_file(body_path)
   local id = thread_id or 0
   math.randomseed(tonumber(nonce, 16) + id * 7919)
   prefix = string.format("%s-%04x-4%03x-a%03x-", nonce, id % 0x10000,
                          math.random(0, 0xfff), math.random(0, 0xfff))

   -- Build the request once with a marker where the delivery id goes, then
   -- split it, so request() only joins three strings.
   local marker = "@@DELIVERY@@"
   local req = wrk.format("POST", nil, {
      ["Host"] = wrk.headers["Host"],
      ["User-Agent"] = "GitHub-Hookshot/deckhand-bench",
      ["Content-Type"] = "application/json",
      ["X-GitHub-Event"] = event,
      ["X-GitHub-Hook-ID"] = "1",
      ["X-Hub-Signature-256"] = signature,
      ["X-GitHub-Delivery"] = marker,
   }, body)
   local at = assert(string.find(req, marker, 1, true), "marker not found")
   head = string.sub(req, 1, at - 1)
   tail = string.sub(req, at + #marker)
end

function request()
   sent = sent + 1
   return head .. prefix .. string.format("%012x", sent) .. tail
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      c2 = c2 + 1
   elseif status >= 400 and status < 500 then
      c4 = c4 + 1
   elseif status >= 500 and status < 600 then
      c5 = c5 + 1
   elseif status >= 300 and status < 400 then
      c3 = c3 + 1
   elseif status >= 100 and status < 200 then
      c1 = c1 + 1
   else
      cother = cother + 1
   end
end

-- Runs in the main Lua state after the run.
function done(summary, latency, requests)
   local c = { 0, 0, 0, 0, 0 }
   local cother, sent = 0, 0
   for _, t in ipairs(threads) do
      for k = 1, 5 do
         c[k] = c[k] + (t:get("c" .. k) or 0)
      end
      cother = cother + (t:get("cother") or 0)
      sent = sent + (t:get("sent") or 0)
   end
   local e = summary.errors
   local p = {}
   for _, q in ipairs({ 50, 75, 90, 99, 99.9 }) do
      table.insert(p, string.format('"%s":%d', tostring(q), latency:percentile(q)))
   end
   io.write(string.format(
      'WRK_RESULT {"duration_us":%d,"requests":%d,"bytes":%d,"sent":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"status":{"1xx":%d,"2xx":%d,"3xx":%d,"4xx":%d,"5xx":%d,"other":%d},' ..
      '"latency_us":{"min":%d,"max":%d,"mean":%.1f,"stdev":%.1f,"percentiles":{%s}}}\n',
      summary.duration, summary.requests, summary.bytes, sent,
      e.connect, e.read, e.write, e.status, e.timeout,
      c[1], c[2], c[3], c[4], c[5], cother,
      latency.min, latency.max, latency.mean, latency.stdev, table.concat(p, ",")))
end
