-- Hot account: every connection pre-authorizes 0.01 on the same account.
-- args: account id
function init(args)
  prepared = wrk.format("POST", "/api/creditcontrol/accounts/" .. args[1] .. "/transactions",
    with_headers({["Content-Type"] = "application/json"}), '{"value": 0.01, "settle": false, "installments": 1}')
end

function request()
  return prepared
end

function response(status, headers, body)
  count_status(status)
end
