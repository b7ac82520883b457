-- Reads: retrieve an account, retrieve one of its invoices, list its invoices (first page
-- with summary), in equal parts, on random accounts of the sample.
-- args: file of "accountId invoiceId" lines; "accounts" to retrieve accounts only
function init(args)
  local accounts_only = args[2] == "accounts"
  math.randomseed(7919 * (thread_index + 1))
  prepared = {}
  for _, line in ipairs(load_lines(args[1])) do
    local account, invoice = line:match("(%S+)%s+(%S+)")
    local base = "/api/creditcontrol/accounts/" .. account
    table.insert(prepared, wrk.format("GET", base))
    if not accounts_only then
      table.insert(prepared, wrk.format("GET", base .. "/invoices/" .. invoice))
      table.insert(prepared, wrk.format("GET", base .. "/invoices"))
    end
  end
end

function request()
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  count_status(status)
end
