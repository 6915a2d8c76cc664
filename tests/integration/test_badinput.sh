#!/bin/bash
# Bad input never crashes knit-devcluster: malformed bodies, oversized
# bodies, invalid names, unknown resources, unsupported media types and a
# client that stalls mid-watch each get the real Status error, and other
# clients keep being served.
. "$(dirname "$0")/../lib/harness.sh"
devcluster_start --max-body 65536 --watch-buffer 1048576

CM=/api/v1/namespaces/default/configmaps
r=$(api POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":')
check_eq "malformed JSON: 400 BadRequest" "400 BadRequest" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(api POST $CM $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y1\ndata:\n  a: "1"\n' application/yaml)
check_eq "a YAML body is accepted" "201" "$(code_of "$r")"
r=$(api POST $CM $'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [y2\n' application/yaml)
check_eq "malformed YAML: 400" "400" "$(code_of "$r")"
r=$(api POST $CM '[1,2,3]')
check_eq "a JSON array body: 400" "400" "$(code_of "$r")"
r=$(api POST $CM '{"apiVersion":"v1","metadata":{"name":"nokind"}}')
check_contains "missing kind: 400 naming it" "Object 'Kind' is missing" "$(body_of "$r" | jq -r .message)"
r=$(api POST $CM '{"apiVersion":"apps/v1","kind":"ConfigMap","metadata":{"name":"x"}}')
check_eq "mismatched apiVersion: 400" "400" "$(code_of "$r")"
big=$(head -c 100000 /dev/zero | tr '\0' a)
r=$(api POST $CM "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"big\"},\"data\":{\"a\":\"$big\"}}")
check_eq "oversized body: 413" "413 RequestEntityTooLarge" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(api POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"UPPER"}}')
check_eq "invalid name: 422" "422" "$(code_of "$r")"
check_contains "422 message names the rule" "RFC 1123 subdomain" "$(body_of "$r" | jq -r .message)"
r=$(api GET /api/v1/namespaces/default/gadgets)
check_eq "unknown resource: 404 NotFound" "404 NotFound" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(api GET /apis/nothing.example/v1/things)
check_eq "unknown group: 404" "404" "$(code_of "$r")"
r=$(api GET /a/b/c/d/e/f/g/h/i/j/k)
check_eq "deep unknown path: 404" "404" "$(code_of "$r")"
r=$(api POST $CM '{}' text/plain)
check_eq "unsupported media type: 415" "415 UnsupportedMediaType" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(api PATCH $CM/y1 '{}' application/x-unknown)
check_eq "unknown patch type: 415" "415" "$(code_of "$r")"
r=$(api PATCH $CM/y1 '[{"op":"test","path":"/data/a","value":"2"}]' application/json-patch+json)
check_eq "failed JSON patch test: 422" "422" "$(code_of "$r")"
r=$(api PATCH $CM/y1 '{"op":' application/json-patch+json)
check_eq "malformed JSON patch: 400" "400" "$(code_of "$r")"
r=$(api PUT $CM/y1 '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"other"}}')
check_eq "PUT with another name: 400" "400" "$(code_of "$r")"
r=$(api DELETE $CM/y1 '{"propagationPolicy":"Sideways"}')
check_eq "bad propagationPolicy: 422" "422" "$(code_of "$r")"
r=$(api GET "$CM?limit=abc")
check_eq "bad limit: 400" "400" "$(code_of "$r")"
r=$(api GET "$CM?continue=garbage")
check_eq "bad continue token: 400" "400" "$(code_of "$r")"
r=$(api GET "$CM?watch=true&resourceVersion=99999999")
check_eq "a resourceVersion from the future: 504 Timeout" "504 Timeout" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(api POST "$CM?fieldValidation=Sometimes" '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv"}}')
check_eq "bad fieldValidation: 400" "400" "$(code_of "$r")"
r=$(printf 'GARBAGE / HTTP/9.9\r\n\r\n' | timeout 3 openssl s_client -quiet -connect 127.0.0.1:$PORT 2>/dev/null | head -c 100)
check "garbage HTTP does not crash the server" kill -0 "$DC_PID"

# A client that opens a watch and never reads: the server drops it when
# its buffer fills, and keeps serving others.
python3 - "$PORT" "$TOKEN" <<'PY' &
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="localhost")
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(("GET /api/v1/namespaces/default/configmaps?watch=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % sys.argv[2]).encode())
time.sleep(8)
PY
stall=$!
sleep 0.5
payload=$(head -c 60000 /dev/zero | tr '\0' b)
ok=0
for i in $(seq 1 200); do
	r=$(api PUT $CM/stall "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"stall\"},\"data\":{\"a\":\"$payload$i\"}}")
	[ "$(code_of "$r")" = 404 ] && r=$(api POST $CM "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"stall\"},\"data\":{\"a\":\"$payload\"}}")
	case "$(code_of "$r")" in 200|201) ok=$((ok + 1)) ;; esac
done
check_eq "writes go on while a watcher stalls" "200" "$ok"
check_eq "other clients are still served" "200" "$(code_of "$(api GET /version)")"
check_contains "the stalled watcher was dropped" "slow-client" "$(cat "$WORK/devcluster.log")"
kill $stall 2>/dev/null
wait $stall 2>/dev/null
check "server still running" kill -0 "$DC_PID"

finish
