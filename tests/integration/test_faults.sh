#!/bin/bash
# Fault injection in knit-devcluster, as a client sees it: injected latency,
# 500/503/429 answers selected by rate, verb and resource, watches dropped on
# demand and periodically, history compaction (410 Expired), a down window
# that closes connections unanswered, the --fault-* flags, validation of the
# admin API, and the request metrics counting the injected errors.
. "$(dirname "$0")/../lib/harness.sh"
devcluster_start --no-simulation

CM=/api/v1/namespaces/default/configmaps
PODS=/api/v1/namespaces/default/pods
cm() { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"}}' "$1"; }

# faults JSON: PUT /admin/faults JSON; prints "CODE BODY", the body compact.
faults() {
	local r
	r=$(api PUT /admin/faults "$1")
	echo "$(code_of "$r") $(body_of "$r" | jq -c . 2>/dev/null)"
}

# treq PATH: one GET; prints "HTTP_CODE TIME_TOTAL CURL_EXIT".
treq() {
	local out rc
	out=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 \
		--cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$1" 2>/dev/null)
	rc=$?
	echo "$out $rc"
}

now() { date +%s.%N; }
# since T0: seconds elapsed since T0.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# num_ok EXPR: true when the awk expression holds.
num_ok() { awk "BEGIN { exit !($1) }"; }

# watch_start OUT MAXTIME: a background `curl -N` watch of configmaps.
watch_start() {
	W_T0=$(now)
	W_OUT=$1
	curl -sS -N --max-time "$2" --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
		"$BASE$CM?watch=true" >"$1" 2>"$1.err" &
	W_PID=$!
}
# watch_streaming: waits (up to 5s) until the watch has sent its first event.
watch_streaming() {
	for _ in $(seq 1 50); do
		[ -s "$W_OUT" ] && return 0
		sleep 0.1
	done
	return 1
}
# watch_wait: waits for it; sets W_RC (curl's exit code) and W_SECS.
watch_wait() {
	wait "$W_PID"
	W_RC=$?
	W_SECS=$(since "$W_T0")
}

# ---- admin API basics ----
r=$(api GET /admin/faults)
check_eq "no faults at start: {}" "200 {}" "$(code_of "$r") $(body_of "$r" | jq -c .)"
r=$(curl -sS --cacert "$CA" -w '\n%{http_code}' "$BASE/admin/faults")
check_eq "GET /admin/faults without a token: 401 Unauthorized" "401 Unauthorized" \
	"$(code_of "$r") $(body_of "$r" | jq -r .reason)"
r=$(curl -sS --cacert "$CA" -X PUT -H 'Content-Type: application/json' --data-binary '{"latencyMilliseconds":5000}' \
	-w '\n%{http_code}' "$BASE/admin/faults")
check_eq "PUT /admin/faults without a token: 401" "401" "$(code_of "$r")"
check_eq "an unauthorized PUT changes nothing" "{}" "$(body_of "$(api GET /admin/faults)" | jq -c .)"
r=$(curl -sS --cacert "$CA" -X POST -w '\n%{http_code}' "$BASE/admin/compact")
check_eq "POST /admin/compact without a token: 401" "401" "$(code_of "$r")"

# validation: 400 Status naming the field, and the config is left alone
check_eq "a valid config is echoed back" \
	'200 {"latencyMilliseconds":100,"errors":[{"code":503,"rate":0.25,"verbs":["list"],"resources":["pods"]}]}' \
	"$(faults '{"latencyMilliseconds":100,"errors":[{"code":503,"rate":0.25,"verbs":["list"],"resources":["pods"]}]}')"
bad() { # bad NAME BODY EXPECTED_MESSAGE
	local r
	r=$(api PUT /admin/faults "$2")
	check_eq "$1" "400 BadRequest $3" "$(code_of "$r") $(body_of "$r" | jq -r '.reason + " " + .message')"
}
bad "code 404 rejected" '{"errors":[{"code":404,"rate":1}]}' "errors[0].code: must be 500, 503 or 429, got 404"
bad "the failing rule's index is named" '{"errors":[{"code":500,"rate":1},{"code":503,"rate":1.5}]}' \
	"errors[1].rate: must be a number greater than 0 and at most 1, got 1.5"
bad "rate 0 rejected" '{"errors":[{"code":500,"rate":0}]}' \
	"errors[0].rate: must be a number greater than 0 and at most 1, got 0"
bad "missing rate" '{"errors":[{"code":500}]}' "errors[0].rate: required"
bad "retryAfterSeconds in range" '{"errors":[{"code":503,"rate":1,"retryAfterSeconds":0}]}' \
	"errors[0].retryAfterSeconds: must be an integer from 1 to 3600"
bad "unknown verb" '{"errors":[{"code":503,"rate":1,"verbs":["list","fetch"]}]}' \
	'errors[0].verbs[1]: unknown verb "fetch"'
bad "unknown top-level field" '{"latency":5}' 'unknown field "latency"'
bad "latency out of range" '{"latencyMilliseconds":60001}' \
	"latencyMilliseconds: must be an integer from 0 to 60000"
r=$(api PUT /admin/faults '{"errors":[')
check_eq "invalid JSON: 400" "400" "$(code_of "$r")"
check_contains "invalid JSON message" "body: invalid JSON" "$(body_of "$r" | jq -r .message)"
check_eq "rejected configs leave the last good one" \
	'{"latencyMilliseconds":100,"errors":[{"code":503,"rate":0.25,"verbs":["list"],"resources":["pods"]}]}' \
	"$(body_of "$(api GET /admin/faults)" | jq -c .)"
check_eq "{} clears every fault" "200 {}" "$(faults '{}')"
r=$(api DELETE /admin/faults)
check_eq "DELETE /admin/faults: 405" "405" "$(code_of "$r")"

# ---- latency ----
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check "no latency: a request takes < 0.5s" num_ok "$code == 200 && $t < 0.5"
faults '{"latencyMilliseconds":1000}' >/dev/null
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check "latency 1000ms: 200 after >= 0.95s ($t)" num_ok "$code == 200 && $t >= 0.95 && $t < 5"
read -r code t rc <<<"$(treq /admin/faults)"
check "admin requests are not delayed ($t)" num_ok "$code == 200 && $t < 0.5"
faults '{"latencyMilliseconds":1000,"errors":[{"code":503,"rate":1,"resources":["pods"]}]}' >/dev/null
read -r code t rc <<<"$(treq $PODS)"
check "an injected error is delayed too ($code after $t)" num_ok "$code == 503 && $t >= 0.95"
faults '{}' >/dev/null
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check "latency cleared: < 0.5s again ($t)" num_ok "$code == 200 && $t < 0.5"

# ---- 503 on list pods; other requests unaffected; kubectl sees it ----
metric_503() {
	curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE/metrics" |
		awk '$1 == "apiserver_request_total{verb=\"LIST\",group=\"\",version=\"v1\",resource=\"pods\",subresource=\"\",code=\"503\"}" { print $2 }'
}
before=$(metric_503)
faults '{"errors":[{"code":503,"rate":1,"verbs":["list"],"resources":["pods"]}]}' >/dev/null
r=$(api GET $PODS)
check_eq "list pods: 503 ServiceUnavailable" "503 ServiceUnavailable Status" \
	"$(code_of "$r") $(body_of "$r" | jq -r '.reason + " " + .kind')"
check_eq "the Status code field matches" "503" "$(body_of "$r" | jq -r .code)"
r=$(api GET /api/v1/namespaces/default)
check_eq "get namespaces still 200" "200 default" "$(code_of "$r") $(body_of "$r" | jq -r .metadata.name)"
r=$(api GET /api/v1/pods)
check_eq "list pods across namespaces: 503 too" "503" "$(code_of "$r")"
check_eq "metrics count the injected 503s (2 so far)" "$((${before:-0} + 2))" "$(metric_503)"
out=$(kc get pods 2>&1)
rc=$?
check "kubectl get pods fails" test "$rc" -ne 0
check_contains "kubectl names the reason" "Error from server (ServiceUnavailable)" "$out"
check_contains "kubectl prints the message" "unable to handle the request" "$out"
check "kubectl get namespaces still works" kc get namespaces default
m1=$(metric_503)
check_eq "kubectl made one list (no retry of a 503 without Retry-After)" "$((${before:-0} + 3))" "${m1:-0}"
faults '{}' >/dev/null
check_eq "list pods answers 200 once cleared" "200" "$(code_of "$(api GET $PODS)")"
check_eq "a 200 list is not counted as a 503" "${m1:-0}" "$(metric_503)"

# ---- 429 with Retry-After ----
faults '{"errors":[{"code":429,"rate":1,"verbs":["get"],"resources":["configmaps"],"retryAfterSeconds":7}]}' >/dev/null
hdr=$(curl -sS -D - -o "$WORK/429" --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM/anything")
check_contains "429 status line" "HTTP/1.1 429" "$(printf '%s' "$hdr" | head -n1)"
check_eq "Retry-After header is 7" "7" "$(printf '%s' "$hdr" | tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')"
check_eq "429 Status: TooManyRequests, details.retryAfterSeconds" "429 TooManyRequests 7" \
	"$(jq -r '"\(.code) \(.reason) \(.details.retryAfterSeconds)"' "$WORK/429")"
check_eq "list configmaps is not a get: 200" "200" "$(code_of "$(api GET $CM)")"
faults '{"errors":[{"code":429,"rate":1,"verbs":["get"],"resources":["configmaps"]}]}' >/dev/null
hdr=$(curl -sS -D - -o /dev/null --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM/anything")
check_eq "Retry-After defaults to 1" "1" "$(printf '%s' "$hdr" | tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')"
faults '{"errors":[{"code":503,"rate":1,"verbs":["get"],"resources":["configmaps"]}]}' >/dev/null
hdr=$(curl -sS -D - -o /dev/null --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM/anything")
check_not_contains "no Retry-After on an injected 503" "retry-after" "$(printf '%s' "$hdr" | tr '[:upper:]' '[:lower:]')"

# ---- 500 at rate 0.5: exactly every 2nd matching request ----
faults '{"errors":[{"code":500,"rate":0.5,"verbs":["get"],"resources":["namespaces"]}]}' >/dev/null
codes=""
for _ in $(seq 1 10); do codes="$codes $(code_of "$(api GET /api/v1/namespaces/default)")"; done
codes=${codes# }
check_eq "rate 0.5: every 2nd request fails" "200 500 200 500 200 500 200 500 200 500" "$codes"
check_eq "exactly 5 of 10 fail" "5" "$(tr ' ' '\n' <<<"$codes" | grep -c '^500$')"
r=$(api GET /api/v1/namespaces/default)
r=$(api GET /api/v1/namespaces/default)
check_eq "500 Status: InternalError" "500 InternalError" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
check_eq "list namespaces never matches a get rule" "200 200 200" \
	"$(for _ in 1 2 3; do code_of "$(api GET /api/v1/namespaces)"; done | tr '\n' ' ' | sed 's/ $//')"

# ---- per verb and per resource ----
faults '{"errors":[{"code":503,"rate":1,"verbs":["create"],"resources":["configmaps"]}]}' >/dev/null
r=$(api POST $CM "$(cm blocked)")
check_eq "create configmaps: 503" "503" "$(code_of "$r")"
check_eq "the failed create stored nothing" "404" "$(code_of "$(api GET $CM/blocked)")"
check_eq "list configmaps: 200" "200" "$(code_of "$(api GET $CM)")"
r=$(api POST /api/v1/namespaces/default/secrets '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1"}}')
check_eq "create secrets: 201" "201" "$(code_of "$r")"
out=$(kc create configmap viakc --from-literal=a=b 2>&1)
check_contains "kubectl create configmap fails with the 503's message" \
	"error: failed to create configmap: the server is currently unable to handle the request" "$out"
faults '{"errors":[{"code":500,"rate":1,"verbs":["list","watch"],"resources":["deployments.apps"]}]}' >/dev/null
check_eq "group-qualified rule: list deployments.apps 500" "500" "$(code_of "$(api GET /apis/apps/v1/namespaces/default/deployments)")"
check_eq "group-qualified rule: list replicasets.apps 200" "200" "$(code_of "$(api GET /apis/apps/v1/namespaces/default/replicasets)")"
faults '{"errors":[{"code":503,"rate":1,"verbs":["watch"],"resources":["configmaps"]}]}' >/dev/null
r=$(curl -sS -N --max-time 5 --cacert "$CA" -H "Authorization: Bearer $TOKEN" -w '\n%{http_code}' "$BASE$CM?watch=true")
check_eq "watch configmaps: 503 instead of a stream" "503 ServiceUnavailable" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
check_eq "list configmaps unaffected by a watch rule" "200" "$(code_of "$(api GET $CM)")"
faults '{}' >/dev/null
check_eq "create works once cleared" "201" "$(code_of "$(api POST $CM "$(cm blocked)")")"

# ---- dropping watches now ----
watch_start "$WORK/w1" 20
check "the watch streams the existing configmaps" watch_streaming
r=$(api POST /admin/drop-watches)
check_eq "drop-watches answers the count" '200 {"dropped":1}' "$(code_of "$r") $(body_of "$r" | jq -c .)"
watch_wait
check "the dropped watch's curl failed (exit $W_RC)" test "$W_RC" -ne 0 -a "$W_RC" -ne 28
check "the dropped watch ended quickly (${W_SECS}s)" num_ok "$W_SECS < 4"
check_contains "it had streamed the initial ADDED events" '"type":"ADDED"' "$(cat "$WORK/w1")"
check_eq "no watch left: dropped 0" '{"dropped":0}' "$(body_of "$(api POST /admin/drop-watches)" | jq -c .)"
watch_start "$WORK/w0" 2
watch_wait
check_eq "control: an undisturbed watch runs to curl's timeout (exit 28)" "28" "$W_RC"

# ---- periodic drops ----
faults '{"dropWatchesEverySeconds":1}' >/dev/null
watch_start "$WORK/w2" 20
watch_wait
check "periodic drop: first watch closed within ~1s (${W_SECS}s, exit $W_RC)" \
	num_ok "$W_RC != 0 && $W_RC != 28 && $W_SECS < 3"
check_contains "periodic drop: that watch had been streaming" '"type":"ADDED"' "$(cat "$WORK/w2")"
watch_start "$WORK/w3" 20
watch_wait
check "periodic drop: the next watch is closed too (${W_SECS}s, exit $W_RC)" \
	num_ok "$W_RC != 0 && $W_RC != 28 && $W_SECS < 3"
check_eq "the period is reported" '{"dropWatchesEverySeconds":1}' "$(body_of "$(api GET /admin/faults)" | jq -c .)"
faults '{}' >/dev/null
watch_start "$WORK/w4" 2.5
watch_wait
check_eq "drops cleared: a watch lives to its timeout" "28" "$W_RC"

# ---- compaction: an old resourceVersion is 410 Expired ----
api POST $CM "$(cm comp)" >/dev/null
r=$(api GET "$CM?limit=1")
old_rv=$(body_of "$r" | jq -r .metadata.resourceVersion)
tok=$(body_of "$r" | jq -r .metadata.continue)
api PATCH $CM/comp '{"data":{"a":"1"}}' application/merge-patch+json >/dev/null
out=$(curl -sS -N --max-time 2 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&resourceVersion=$old_rv" 2>/dev/null)
check_contains "control: before compaction the old rv replays the change" '"type":"MODIFIED"' "$out"
r=$(api POST /admin/compact)
crv=$(body_of "$r" | jq -r .compactedResourceVersion)
check_eq "compact answers the current resourceVersion" "200 $(body_of "$(api GET $CM)" | jq -r .metadata.resourceVersion)" "$(code_of "$r") $crv"
hdr=$(curl -sS -N --max-time 5 -D "$WORK/whdr" -o "$WORK/wexp" -w '%{http_code}' --cacert "$CA" \
	-H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&resourceVersion=$old_rv")
rc=$?
check_eq "old-rv watch: HTTP 200 (as the real apiserver)" "200" "$hdr"
check_eq "old-rv watch: the stream ends by itself" "0" "$rc"
check_eq "old-rv watch: exactly one event" "1" "$(jq -s length "$WORK/wexp")"
check_eq "old-rv watch: ERROR carrying a 410 Expired Status" "ERROR Status 410 Expired" \
	"$(jq -r '"\(.type) \(.object.kind) \(.object.code) \(.object.reason)"' "$WORK/wexp")"
check_contains "410 message" "too old resource version: $old_rv" "$(jq -r .object.message "$WORK/wexp")"
r=$(api GET "$CM?limit=1&continue=$tok")
check_eq "a continue token from before compaction: 410 Expired" "410 Expired" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
out=$(curl -sS -N --max-time 1.5 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&resourceVersion=$crv" 2>/dev/null &
	sleep 0.6
	api PATCH $CM/comp '{"data":{"a":"2"}}' application/merge-patch+json >/dev/null
	wait)
check_eq "a watch from the compacted rv itself still works" "MODIFIED comp" \
	"$(printf '%s\n' "$out" | jq -r '.type + " " + .object.metadata.name' | head -n1)"

# ---- down window ----
watch_start "$WORK/w5" 20
check "a watch is open before the window" watch_streaming
t0=$(now)
faults '{"downForSeconds":2}' >/dev/null
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check_eq "down: the connection closes unanswered (curl exit 52, code 000)" "000 52" "$code $rc"
r=$(api GET /admin/faults)
check_eq "down: admin still answers, with the remaining seconds" "200 2" "$(code_of "$r") $(body_of "$r" | jq -r .downForSeconds)"
r=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -X POST -H 'Content-Type: application/json' \
	--data-binary "$(cm during-down)" -w '%{http_code}' -o /dev/null "$BASE$CM" 2>&1)
check_contains "down: a create is refused too" "Empty reply from server" "$r"
watch_wait
check "down: the open watch was dropped (exit $W_RC after ${W_SECS}s)" num_ok "$W_RC != 0 && $W_RC != 28 && $W_SECS < 4"
up=""
for _ in $(seq 1 50); do
	read -r code t rc <<<"$(treq /api/v1/namespaces)"
	[ "$code" = 200 ] && up=$(since "$t0") && break
	sleep 0.1
done
check "down: recovers by itself after ~2s (at ${up:-never}s)" num_ok "${up:-99} >= 1.8 && ${up:-99} < 4"
check_eq "after the window the config is empty again" "{}" "$(body_of "$(api GET /admin/faults)" | jq -c .)"
faults '{"downForSeconds":60}' >/dev/null
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check_eq "a long down window: refused" "000 52" "$code $rc"
faults '{}' >/dev/null
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check_eq "PUT {} ends the down window at once" "200 0" "$code $rc"

# ---- the flags ----
# The harness reuses $WORK/dc: remove the old port file and kubeconfig so
# devcluster_start waits for the new server instead of reading stale ones.
restart() {
	devcluster_stop
	rm -f "$WORK/dc/port" "$WORK/dc/kubeconfig"
	devcluster_start --no-simulation "$@"
}
restart --fault-latency 250ms --fault-error 503:1:list:pods \
	--fault-error 429:0.5:get:namespaces:3 --fault-drop-watches-every 30s
check_eq "flags: the config shows every flag" \
	'{"latencyMilliseconds":250,"errors":[{"code":503,"rate":1,"verbs":["list"],"resources":["pods"]},{"code":429,"rate":0.5,"verbs":["get"],"resources":["namespaces"],"retryAfterSeconds":3}],"dropWatchesEverySeconds":30}' \
	"$(body_of "$(api GET /admin/faults)" | jq -c .)"
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check "--fault-latency 250ms delays requests ($t)" num_ok "$code == 200 && $t >= 0.23"
check_eq "--fault-error 503:1:list:pods" "503" "$(code_of "$(api GET $PODS)")"
check_eq "--fault-error 429 rate 0.5 on get namespaces" "200 429" \
	"$(code_of "$(api GET /api/v1/namespaces/default)") $(code_of "$(api GET /api/v1/namespaces/default)")"
hdr=$(curl -sS -D - -o /dev/null --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/namespaces/kube-system" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
check_eq "no Retry-After on the non-failing request" "" "$hdr"
hdr=$(curl -sS -D - -o /dev/null --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/namespaces/kube-system" |
	tr -d '\r' | awk -F': ' 'tolower($1) == "retry-after" { print $2 }')
check_eq "--fault-error RETRY field sets Retry-After: 3" "3" "$hdr"
t0=$(now)
restart --fault-down-for 3
read -r code t rc <<<"$(treq /api/v1/namespaces)"
check_eq "--fault-down-for: refused right after start" "000 52" "$code $rc"
check_eq "--fault-down-for: admin answers meanwhile" "200" "$(code_of "$(api GET /admin/faults)")"
up=""
for _ in $(seq 1 60); do
	read -r code t rc <<<"$(treq /api/v1/namespaces)"
	[ "$code" = 200 ] && up=$(since "$t0") && break
	sleep 0.1
done
check "--fault-down-for 3: up by itself 3-6s after start (at ${up:-never}s)" num_ok "${up:-99} >= 2.9 && ${up:-99} < 6"
devcluster_stop

# bad flags: exit 2, a message naming the flag, no server
badflag() { # badflag NAME NEEDLE FLAGS...
	local name=$1 needle=$2 err rc
	shift 2
	mkdir -p "$WORK/bad"
	timeout 10 "$DEVCLUSTER_BIN" --port 0 --data-dir "$WORK/bad" --port-file "$WORK/bad/port" \
		"$@" >/dev/null 2>"$WORK/bad/err"
	rc=$?
	err=$(cat "$WORK/bad/err")
	check_eq "$name: exit 2" "2" "$rc"
	check_contains "$name: stderr names the flag" "$needle" "$err"
}
badflag "--fault-error 404:1" '--fault-error "404:1": code: must be 500, 503 or 429' --fault-error 404:1
badflag "--fault-error 503:2" '--fault-error "503:2": rate' --fault-error 503:2
badflag "--fault-error retry 0" 'retry-after: must be an integer from 1 to 3600' --fault-error 503:1:get:pods:0
badflag "--fault-latency 2x" '--fault-latency: invalid duration "2x"' --fault-latency 2x
badflag "--fault-latency 61s" '--fault-latency: must be at most 60s' --fault-latency 61s
badflag "--fault-drop-watches-every -1" '--fault-drop-watches-every' --fault-drop-watches-every -1
badflag "--fault-down-for abc" '--fault-down-for: must be whole seconds' --fault-down-for abc
check "a bad flag leaves no port file" test ! -e "$WORK/bad/port"

finish
