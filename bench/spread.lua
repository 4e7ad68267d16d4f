-- wrk script: every request holds one unit of a random stock row (all rows of the seed).
-- BENCH_PRODUCTS="first last" and BENCH_WAREHOUSES="first last": the seed's id ranges.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local p1, p2 = string.match(os.getenv("BENCH_PRODUCTS"), "(%d+) (%d+)")
local w1, w2 = string.match(os.getenv("BENCH_WAREHOUSES"), "(%d+) (%d+)")

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  created, refused, other = 0, 0, 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  local body = string.format('{"productId": %d, "warehouseId": %d, "quantity": 1}',
                             math.random(tonumber(p1), tonumber(p2)),
                             math.random(tonumber(w1), tonumber(w2)))
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    refused = refused + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_created, total_refused, total_other = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_refused = total_refused + thread:get("refused")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("answers: %d x 201, %d x 409, %d other\n",
                         total_created, total_refused, total_other))
end
