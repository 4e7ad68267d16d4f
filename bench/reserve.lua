-- wrk script: every request holds one unit of the hot row (product/warehouse from env).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"productId": %s, "warehouseId": %s, "quantity": 1}',
                         os.getenv("BENCH_PRODUCT_ID"), os.getenv("BENCH_WAREHOUSE_ID"))

local statuses = {}

response = function(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

done = function(summary, latency, requests)
  local parts = {}
  for status, count in pairs(statuses) do
    table.insert(parts, string.format("%d=%d", status, count))
  end
  io.write(string.format("statuses %s\n", table.concat(parts, " ")))
end
