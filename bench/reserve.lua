-- wrk script: every request holds one unit. Of one hot row (BENCH_PRODUCT_ID and
-- BENCH_WAREHOUSE_ID), of one product routed to the warehouse nearest BENCH_CITY (no
-- warehouseId), or of a random row of all (BENCH_PRODUCTS="first last" and
-- BENCH_WAREHOUSES="first last": the seed's id ranges). With BENCH_COOKIES (a file of
-- session cookies, one a line), each request is a signed-in customer picked at random.
-- Counts 201s, 409s and the rest.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local products, warehouses = os.getenv("BENCH_PRODUCTS"), os.getenv("BENCH_WAREHOUSES")
local p1, p2, w1, w2
if products then
  p1, p2 = string.match(products, "(%d+) (%d+)")
  w1, w2 = string.match(warehouses, "(%d+) (%d+)")
elseif os.getenv("BENCH_CITY") then
  wrk.body = string.format('{"productId": %s, "city": "%s", "quantity": 1}',
                           os.getenv("BENCH_PRODUCT_ID"), os.getenv("BENCH_CITY"))
else
  wrk.body = string.format('{"productId": %s, "warehouseId": %s, "quantity": 1}',
                           os.getenv("BENCH_PRODUCT_ID"), os.getenv("BENCH_WAREHOUSE_ID"))
end

local cookies = {}
local cookie_file = os.getenv("BENCH_COOKIES")
if cookie_file then
  for line in io.lines(cookie_file) do
    table.insert(cookies, line)
  end
end

-- Each wrk thread counts in its own Lua state; done() adds the counts up.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  created, sold_out, other = 0, 0, 0
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

function request()
  if #cookies > 0 then
    local headers = {["Content-Type"] = "application/json",
                     ["Cookie"] = cookies[math.random(#cookies)]}
    return wrk.format(nil, nil, headers)
  end
  if not products then
    return wrk.format()
  end
  local body = string.format('{"productId": %d, "warehouseId": %d, "quantity": 1}',
                             math.random(tonumber(p1), tonumber(p2)),
                             math.random(tonumber(w1), tonumber(w2)))
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 409 then
    sold_out = sold_out + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_created, total_sold_out, total_other = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_created = total_created + thread:get("created")
    total_sold_out = total_sold_out + thread:get("sold_out")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("answers: %d x 201, %d x 409, %d other\n",
                         total_created, total_sold_out, total_other))
end
