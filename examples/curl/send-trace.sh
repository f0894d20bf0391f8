#!/usr/bin/env bash
# Sends one small trace to a running collector as OTLP/JSON with curl, with fresh ids and the current time:
#   scripts/serve &            # in the repository's root
#   examples/curl/send-trace.sh [http://127.0.0.1:4318]
set -euo pipefail
endpoint="${1:-http://127.0.0.1:4318}/v1/traces"
trace_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
root_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
child_id=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
now=$(date +%s%N)
cat > /tmp/cairn-example-trace.json <<JSON
{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"curl-example"}}]},
 "scopeSpans":[{"scope":{"name":"examples/curl"},"spans":[
  {"traceId":"$trace_id","spanId":"$root_id","name":"GET /hello","kind":2,
   "startTimeUnixNano":"$((now - 40000000))","endTimeUnixNano":"$now",
   "attributes":[{"key":"http.request.method","value":{"stringValue":"GET"}},
                 {"key":"http.response.status_code","value":{"intValue":"200"}}]},
  {"traceId":"$trace_id","spanId":"$child_id","parentSpanId":"$root_id","name":"SELECT greetings","kind":3,
   "startTimeUnixNano":"$((now - 30000000))","endTimeUnixNano":"$((now - 10000000))",
   "attributes":[{"key":"db.system.name","value":{"stringValue":"sqlite"}}]}]}]}]}
JSON
curl --fail-with-body -sS -H 'Content-Type: application/json' --data-binary @/tmp/cairn-example-trace.json "$endpoint"
echo
echo "sent trace $trace_id"
