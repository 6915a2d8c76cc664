#!/bin/bash
# pkg/kube against a real API server (knit-devcluster over TLS with a
# bearer token), driven by tests/progs/kube_check: configuration and
# credentials (kubeconfig, exec plugin, in-cluster with a rotated token),
# clear errors for a wrong CA and a bad token, Retry-After retries, and an
# informer that stays equal to the server through 1,000 random writes while
# watches are dropped and history is compacted (410 relists).
cd "$(dirname "$0")/../.."
. tests/lib/harness.sh

KC_BIN=${KC_BIN:-$BUILD/tests/progs/kube_check}
kcheck() { "$KC_BIN" "$@" 2>>"$WORK/kube_check.log"; }

devcluster_start
echo "knit-devcluster on port $PORT"

# ---- configuration and credentials ----

out=$(kcheck --kubeconfig "$KUBECONFIG" get namespaces "" default)
check_eq "get through the devcluster's kubeconfig" "ok default" "${out% *}"

out=$(kcheck --kubeconfig "$KUBECONFIG" get configmaps default nope)
check_eq "a missing object is ERR_NOTFOUND with the server's message" \
	'error: ERR_NOTFOUND (HTTP 404): configmaps "nope" not found' "$out"

# A kubeconfig like the devcluster's, with a different user and CA.
write_config() { # FILE CA_FILE USER_YAML
	cat >"$1" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: dev
  cluster:
    server: $BASE
    certificate-authority: $2
users:
- name: me
  user:
$3
contexts:
- name: dev
  context: {cluster: dev, user: me, namespace: default}
current-context: dev
YAML
}

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/other.key" \
	-out "$WORK/other.crt" -days 1 -subj /CN=other >/dev/null 2>&1
write_config "$WORK/wrong-ca" "$WORK/other.crt" "    token: $TOKEN"
out=$(kcheck --kubeconfig "$WORK/wrong-ca" get namespaces "" default)
check_contains "a wrong CA fails as a transport error" "ERR_TRANSPORT" "$out"
check_contains "and says why: the certificate is not trusted" "SSL certificate problem" "$out"

write_config "$WORK/bad-token" "$CA" "    token: not-the-token"
out=$(kcheck --kubeconfig "$WORK/bad-token" get namespaces "" default)
check_eq "a bad token is ERR_UNAUTHORIZED" \
	"error: ERR_UNAUTHORIZED (HTTP 401): Unauthorized" "$out"

write_config "$WORK/no-token" "$CA" "    {}"
out=$(kcheck --kubeconfig "$WORK/no-token" get namespaces "" default)
check_eq "a missing token is ERR_UNAUTHORIZED" \
	"error: ERR_UNAUTHORIZED (HTTP 401): Unauthorized" "$out"

# An exec credential plugin supplies the token (and counts its runs).
cat >"$WORK/cred.sh" <<SH
#!/bin/sh
echo run >>"$WORK/cred.runs"
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}\n' "\$DEV_TOKEN"
SH
chmod +x "$WORK/cred.sh"
write_config "$WORK/exec" "$CA" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $WORK/cred.sh
      env: [{name: DEV_TOKEN, value: $TOKEN}]
      interactiveMode: Never"
out=$(kcheck --kubeconfig "$WORK/exec" get namespaces "" default)
check_eq "an exec plugin supplies the token" "ok default" "${out% *}"
check_eq "the plugin ran once" "1" "$(wc -l <"$WORK/cred.runs")"

write_config "$WORK/exec-fail" "$CA" "    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: $WORK/no-such-plugin
      installHint: install it with apt
      interactiveMode: Never"
out=$(kcheck --kubeconfig "$WORK/exec-fail" get namespaces "" default)
check_contains "a missing plugin is reported with its install hint" \
	"install it with apt" "$out"

# In-cluster: the token file starts wrong and is rotated to the right one;
# the client must pick it up without restarting.
SA="$WORK/sa"
mkdir -p "$SA"
cp "$CA" "$SA/ca.crt"
echo default >"$SA/namespace"
echo stale-token >"$SA/token"
KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$PORT \
	kcheck --incluster "$SA" poll namespaces "" default 20 >"$WORK/poll.out" &
POLL=$!
sleep 1
printf '%s\n' "$TOKEN" >"$SA/token.new" && mv "$SA/token.new" "$SA/token"
wait $POLL
rc=$?
out=$(cat "$WORK/poll.out")
check_contains "in-cluster with a stale token is rejected" "ERR_UNAUTHORIZED" "$out"
check_eq "then succeeds once the token file rotates" "0 ok" "$rc $(tail -n1 "$WORK/poll.out")"

# ---- Retry-After ----

metric() { # the devcluster's apiserver_request_total for configmaps GETs with CODE
	curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE/metrics" |
		awk -v c="code=\"$1\"" '/^apiserver_request_total/ && /verb="GET"/ &&
			/resource="configmaps"/ && index($0, c) { s += $NF } END { print s + 0 }'
}
faults() { api PUT /admin/faults "$1" >/dev/null; }

api POST /api/v1/namespaces/default/configmaps \
	'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target"},"data":{"a":"b"}}' >/dev/null
for code in 429 500; do
	before=$(metric $code)
	faults "{\"errors\":[{\"code\":$code,\"rate\":0.5,\"verbs\":[\"get\"],\"resources\":[\"configmaps\"],\"retryAfterSeconds\":1}]}"
	ok=0
	for _ in 1 2 3 4; do
		out=$(kcheck --kubeconfig "$KUBECONFIG" get configmaps default target)
		[ "${out% *}" = "ok target" ] && ok=$((ok + 1))
	done
	faults '{}'
	check_eq "every GET succeeds while half get $code with Retry-After" 4 $ok
	check "the server did answer $code (the client retried)" \
		test "$(metric $code)" -ge $((before + 2))
done
faults '{"errors":[{"code":500,"rate":1,"verbs":["get"],"resources":["configmaps"]}]}'
out=$(kcheck --kubeconfig "$KUBECONFIG" get configmaps default target)
faults '{}'
check_contains "a 500 without Retry-After is not retried and surfaces" \
	"error: ERR_INTERNAL (HTTP 500)" "$out"

# ---- informer under churn, dropped watches and compaction ----

api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"churn"}}' >/dev/null
# While the writes go on, watches are dropped every 2 s, and every 3 s the
# informer's watches are also refused for a second while the history is
# compacted, so the next watch asks for a resourceVersion the server no
# longer has (410). The faults end with the writes: the informer must then
# converge within kube_check's 60 s, which its backoff (at most 25.6 s plus
# jitter after the few failures a write phase allows) leaves room for.
faults '{"dropWatchesEverySeconds":2}'
rm -f "$WORK/writes-done"
(
	while [ ! -e "$WORK/writes-done" ]; do
		sleep 2
		faults '{"dropWatchesEverySeconds":2,"errors":[{"code":503,"rate":1,"verbs":["watch"],"resources":["configmaps"]}]}'
		api POST /admin/drop-watches >/dev/null
		sleep 1
		api POST /admin/compact >/dev/null
		faults '{"dropWatchesEverySeconds":2}'
	done
	faults '{}'
) &
COMPACT=$!
out=$(KUBE_CHECK_WRITES_DONE="$WORK/writes-done" \
	kcheck --kubeconfig "$KUBECONFIG" --qps 150 churn churn 1000 7)
rc=$?
touch "$WORK/writes-done"
wait $COMPACT 2>/dev/null
faults '{}'
echo "$out" | sed 's/^/       /'
[ "$rc" = 0 ] || tail -n 40 "$WORK/kube_check.log" | sed 's/^/       log: /'
check_eq "the informer's cache and handlers equal the server after 1,000 writes" \
	"0" "$rc"
check_contains "they were compared" "equal=yes" "$out"
creates=$(echo "$out" | sed -n 's/^creates=\([0-9]*\).*/\1/p')
check "the writes happened (creates=$creates)" test "${creates:-0}" -ge 150
watches=$(echo "$out" | sed -n 's/.*watches=\([0-9]*\).*/\1/p')
relists=$(echo "$out" | sed -n 's/.*relists=\([0-9]*\).*/\1/p')
check "dropped watches were re-established (watches=$watches)" test "${watches:-0}" -ge 3
check "compaction caused 410 relists (relists=$relists)" test "${relists:-0}" -ge 1

# A stop interrupts a list that is waiting out Retry-After.
faults '{"errors":[{"code":429,"rate":1,"verbs":["list"],"resources":["configmaps"],"retryAfterSeconds":30}]}'
out=$(kcheck --kubeconfig "$KUBECONFIG" stop default)
faults '{}'
ms=$(echo "$out" | sed -n 's/^stopped in \([0-9]*\) ms.*/\1/p')
check_contains "the informer had not synced behind the 429s" "synced=no" "$out"
check "stopping it does not wait out Retry-After (${ms:-?} ms)" test "${ms:-99999}" -lt 1000

# ---- events ----

api POST /api/v1/namespaces/default/configmaps \
	'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"evt-target"}}' >/dev/null
out=$(kcheck --kubeconfig "$KUBECONFIG" events default evt-target 7)
check_contains "the recorder wrote every repeat" "recorded=7 written=7" "$out"
ev=$(api GET "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Devt-target")
check_eq "seven repeats are one Event with count 7" "1 7 Tested kube-check" \
	"$(body_of "$ev" | jq -r '"\(.items | length) \(.items[0].count) \(.items[0].reason) \(.items[0].source.component)"')"
out=$(kc describe configmap evt-target 2>&1)
check_contains "kubectl describe shows the repeats" "(x7 over" "$out"

# ---- leader election ----

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
within() { awk -v t="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(t >= lo && t <= hi) }'; }
leader() { # ID: starts a candidate in the background, output in $WORK/ID.out
	"$KC_BIN" --kubeconfig "$KUBECONFIG" leader knit-leader "$1" \
		>"$WORK/$1.out" 2>>"$WORK/kube_check.log" &
	eval "PID_$1=$!"
}
leads() { grep -q "^leading $1" "$WORK/$1.out"; }

leader A
check "the first candidate leads" wait_for 10 leads A
leader B
check "the second candidate sees the leader" wait_for 10 grep -q "new-leader A" "$WORK/B.out"
sleep 1
check "and does not lead while the lease is renewed" test -z "$(grep '^leading' "$WORK/B.out")"
{ kill -9 "$PID_A" && wait "$PID_A"; } 2>/dev/null
t0=$(date +%s.%N)
wait_for 30 leads B
t1=$(date +%s.%N)
took=$(elapsed "$t0" "$t1")
echo "       takeover after kill -9: ${took}s"
# The bound is lease duration (15 s) + one retry period (2 s, plus up to 20%
# jitter: the standby may have seen the last renewal up to 2.4 s late), plus
# 0.4 s for this script's 0.2 s polling. Earlier than 10 s would mean
# stealing a lease that was still valid.
check "after kill -9 the standby leads within lease + retry (${took}s)" \
	within "$took" 10 17.8
leader C
check "a new standby sees B" wait_for 10 grep -q "new-leader B" "$WORK/C.out"
kill -TERM "$PID_B"
t0=$(date +%s.%N)
wait_for 10 leads C
t1=$(date +%s.%N)
took=$(elapsed "$t0" "$t1")
wait "$PID_B"
check_eq "the stopped leader exits cleanly" "0" "$?"
check_contains "and says it stopped" "stopped B" "$(cat "$WORK/B.out")"
check "a clean stop hands over within 3 s (${took}s)" within "$took" 0 3
kill -TERM "$PID_C"
wait "$PID_C"
lease=$(api GET /apis/coordination.k8s.io/v1/namespaces/default/leases/knit-leader)
check_eq "the released lease has no holder and counts the transitions" "true 2" \
	"$(body_of "$lease" | jq -r '"\((.spec.holderIdentity // "") == "") \(.spec.leaseTransitions)"')"

# Under make asan, kube_check's leaks and errors land in its log.
if grep -qE "Sanitizer|runtime error:" "$WORK/kube_check.log"; then
	fail "kube_check ran without sanitizer reports" \
		"$(grep -A 20 -E "Sanitizer|runtime error:" "$WORK/kube_check.log" | head -n 40)"
else
	pass "kube_check ran without sanitizer reports"
fi

finish
