-- Checkout: VTEX's gateway creating payments (POST /ppp/{store}/payments), each with a new
-- paymentId, for buyers taken in turn from a file of CPF documents (accounts with room for
-- the whole run). Approved payments count as `cycles`, any other 2xx answer (denied,
-- undefined) as `broken`, so that a run can tell a fast refusal from a hold.
-- args: store name, file of documents (one per line), value, installments, run nonce
function init(args)
  path = "/ppp/" .. args[1] .. "/payments"
  documents = load_lines(args[2])
  value = args[3] or "30"
  installments = args[4] or "3"
  -- The nonce keeps paymentIds unique across runs on one database (warm-up, then the run).
  prefix = (args[5] or "run") .. "-" .. thread_index .. "-"
  json = with_headers({["Content-Type"] = "application/json", ["Accept"] = "application/json"})
  sent = 0
end

function request()
  sent = sent + 1
  local id = prefix .. sent
  local document = documents[((sent * 7 + thread_index) % #documents) + 1]
  local body = '{"paymentId": "' .. id .. '", "transactionId": "T' .. id .. '", ' ..
    '"orderId": "v' .. id .. '", "reference": "' .. id .. '", ' ..
    '"shopperInteraction": "ecommerce", "paymentMethod": "Promissories", ' ..
    '"paymentMethodCustomCode": null, "merchantName": "bench", ' ..
    '"value": ' .. value .. ', "currency": "USD", "installments": ' .. installments .. ', ' ..
    '"deviceFingerprint": "bench", ' ..
    '"miniCart": {"buyer": {"firstName": "Bench", "lastName": "Buyer", "document": "' .. document .. '", ' ..
    '"documentType": "CPF", "email": "buyer-' .. document .. '@example.com", "phone": "+5511999999999"}}, ' ..
    '"url": "https://bench.example.com/orders/' .. id .. '", ' ..
    '"callbackUrl": "https://bench.vtexpayments.com.br/api/pvt/payment-provider/transactions/T' .. id ..
    '/payments/' .. id .. '/notification", "returnUrl": "https://bench.example.com/return"}'
  return wrk.format("POST", path, json, body)
end

function response(status, headers, body)
  count_status(status)
  if status >= 200 and status < 300 then
    if body:find('"status"%s*:%s*"approved"') then
      cycles = cycles + 1
    else
      broken = broken + 1
    end
  end
end
