-- Invoice search: GET the paths of the file (one query per line), picked at random.
-- args: file of request paths
function init(args)
  math.randomseed(104729 * (thread_index + 1))
  prepared = {}
  for _, path in ipairs(load_lines(args[1])) do
    table.insert(prepared, wrk.format("GET", path))
  end
end

function request()
  return prepared[math.random(#prepared)]
end

function response(status, headers, body)
  count_status(status)
end
