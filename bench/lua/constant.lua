-- The reference: a bare endpoint of the same server returning a constant JSON.
-- args: path
function init(args)
  prepared = wrk.format("GET", args[1])
end

function request()
  return prepared
end

function response(status, headers, body)
  count_status(status)
end
