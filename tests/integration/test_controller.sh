#!/bin/bash
# knit-controller as a process: flags and their errors, an unreachable API
# server, JSON logs, leader election between two replicas (one acts, the
# other takes over when it dies) and a graceful SIGTERM that releases the
# Lease.
. "$(dirname "$0")/../lib/harness.sh"

# ---- flags ----
echo "-- flags"
out=$("$CONTROLLER_BIN" --qps abc 2>&1)
check_eq "a bad number exits 2" "2" "$?"
check_contains "and names the flag" "--qps" "$out"
out=$("$CONTROLLER_BIN" --bogus 2>&1)
check_eq "an unknown flag exits 2" "2" "$?"
check_contains "and names it" "--bogus" "$out"
out=$("$CONTROLLER_BIN" --log-format xml 2>&1)
check_eq "an unknown log format exits 2" "2" "$?"
out=$("$CONTROLLER_BIN" --workers 2>&1)
check_eq "a missing value exits 2" "2" "$?"
out=$("$CONTROLLER_BIN" --help 2>&1)
check_eq "--help exits 0" "0" "$?"
check_contains "and lists the flags" "--leader-elect" "$out"
out=$("$CONTROLLER_BIN" --kubeconfig "$WORK/nonexistent" 2>&1)
check_eq "a missing kubeconfig exits 1" "1" "$?"
check_contains "and names the file" "$WORK/nonexistent" "$out"

devcluster_start
kc apply -f crds/ >/dev/null
wait_for 10 kc get rollouts.knit.dev

# ---- an unreachable API server ----
echo "-- an unreachable API server"
dead=$(free_port)
sed "s#https://127.0.0.1:$PORT#https://127.0.0.1:$dead#" "$KUBECONFIG" >"$WORK/dead.kubeconfig"
hport=$(free_port)
"$CONTROLLER_BIN" --kubeconfig "$WORK/dead.kubeconfig" --leader-elect=false \
	--metrics-address 0 --health-address "127.0.0.1:$hport" \
	>"$WORK/dead.log" 2>&1 &
DEAD_PID=$!
check "it serves /healthz" wait_for 10 curl -sf "http://127.0.0.1:$hport/healthz"
check_eq "/readyz says 503 while the caches cannot sync" "503" \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/readyz")"
check "it keeps running" kill -0 "$DEAD_PID"
kill "$DEAD_PID"
wait "$DEAD_PID"
check_eq "and stops cleanly on SIGTERM" "0" "$?"

# ---- JSON logs ----
echo "-- JSON logs"
controller_start --log-format json
controller_stop
bad=$(grep -v '^[[:space:]]*$' "$WORK/controller.log" | while IFS= read -r l; do
	printf '%s\n' "$l" | jq -e '.ts and .level and .msg' >/dev/null 2>&1 || printf '%s\n' "$l"
done | head -n 3)
check "it logged (startup, sync, shutdown)" test "$(grep -c . "$WORK/controller.log")" -ge 3
check_eq "every log line is a JSON object with ts, level and msg" "" "$bad"
: >"$WORK/controller.log"

# ---- leader election ----
echo "-- leader election"
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"le"}}' >/dev/null
start_replica() { # NAME: a controller with leader election on
	local m h
	m=$(free_port)
	h=$(free_port)
	"$CONTROLLER_BIN" --kubeconfig "$KUBECONFIG" --metrics-address "127.0.0.1:$m" \
		--health-address "127.0.0.1:$h" --leader-election-namespace le \
		>"$WORK/$1.log" 2>&1 &
	eval "${1}_PID=$! ${1}_M=http://127.0.0.1:$m"
}
holder() { kc -n le get lease knit-controller-leader -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
holder_is() { case "$(holder)" in *"_$1") return 0 ;; esac; return 1; }
leader_gauge() { curl -s "$1/metrics" | awk '$1 == "knit_leader" {print $2}'; }
start_replica A
check "the first replica takes the Lease" wait_for 20 holder_is "$A_PID"
start_replica B
sleep 3
check_contains "the second replica does not take it" "_$A_PID" "$(holder)"
check_eq "the leader's knit_leader gauge is 1" "1" "$(leader_gauge "$A_M")"
check_eq "the standby's is 0" "0" "$(leader_gauge "$B_M")"
kc -n le apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: svc}
spec:
  replicas: 1
  selector: {matchLabels: {app: svc}}
  template:
    metadata: {labels: {app: svc}}
    spec: {containers: [{name: svc, image: "registry.example/svc:1"}]}
EOF
phase_is() { [ "$(kc -n le get rollout.knit.dev svc -o jsonpath='{.status.phase}')" = "$1" ]; }
check "the leader reconciles" wait_for 30 phase_is Healthy
kill -9 "$A_PID"
wait "$A_PID" 2>/dev/null
check "the standby takes over when the leader dies (lease 15 s)" \
	wait_for 40 holder_is "$B_PID"
kc -n le patch rollout.knit.dev svc --type merge -p \
	'{"spec":{"template":{"spec":{"containers":[{"name":"svc","image":"registry.example/svc:2"}]}}}}' >/dev/null
new_image_live() {
	[ "$(kc -n le get rs -l knit.dev/pod-template-hash="$(kc -n le get rollout.knit.dev svc -o jsonpath='{.status.stableRS}')" \
		-o jsonpath='{.items[0].spec.template.spec.containers[0].image}')" = registry.example/svc:2 ]
}
check "the new leader rolls out the next version" wait_for 30 new_image_live
kill "$B_PID"
wait "$B_PID"
check_eq "SIGTERM exits 0" "0" "$?"
check_eq "and releases the Lease" "" "$(holder)"
for f in A B; do
	if grep -qE "Sanitizer|runtime error:" "$WORK/$f.log"; then
		fail "replica $f has no sanitizer report" "$(grep -A 20 -E "Sanitizer|runtime error:" "$WORK/$f.log" | head -n 30)"
	fi
done

finish
