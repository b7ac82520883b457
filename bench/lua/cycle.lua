-- Purchase cycle, one customer (account) per connection: pre-authorize 30.00 in 3
-- installments, settle it, pay the 3 invoices; then again. Run with as many threads as
-- connections, so each thread's state is one connection's.
-- args: file of account ids (one per line), value
function init(args)
  local accounts = load_lines(args[1])
  local value = args[2] or "30"
  base = "/api/creditcontrol/accounts/" .. accounts[(thread_index % #accounts) + 1]
  json = with_headers({["Content-Type"] = "application/json"})
  hold = wrk.format("POST", base .. "/transactions", json,
    '{"value": ' .. value .. ', "settle": true, "installments": 3}')
  settlement_body = '{"value": ' .. value .. '}'
  step = 0
  transaction = nil
end

function request()
  if step == 0 then
    return hold
  elseif step == 1 then
    return wrk.format("PUT", base .. "/transactions/" .. transaction .. "/settlement", json, settlement_body)
  end
  return wrk.format("POST", base .. "/invoices/" .. transaction .. "-0" .. (step - 1) .. "/payments")
end

function response(status, headers, body)
  count_status(status)
  if status ~= 200 then
    broken = broken + 1
    step = 0
    return
  end
  if step == 0 then
    transaction = body:match('"id"%s*:%s*"(%w+)"')
    step = transaction and 1 or 0
  elseif step < 4 then
    step = step + 1
  else
    cycles = cycles + 1
    step = 0
  end
end
