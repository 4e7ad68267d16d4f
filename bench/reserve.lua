-- wrk script: every request holds one unit of the hot row (product/warehouse from env).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"productId": %s, "warehouseId": %s, "quantity": 1}',
                         os.getenv("BENCH_PRODUCT_ID"), os.getenv("BENCH_WAREHOUSE_ID"))

-- Each wrk thread counts in its own Lua state; done() adds the counts up.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  created, refused, other = 0, 0, 0
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
