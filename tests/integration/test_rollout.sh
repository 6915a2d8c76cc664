#!/bin/bash
# End-to-end tests of the Rollout resource: knit-controller reconciling
# Rollouts on knit-devcluster, driven and checked with the real kubectl the
# way a platform engineer would: apply a Rollout, bump its image, watch the
# ReplicaSets and Services move step by step, promote, abort, retry, and
# read the conditions and Events.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/rollouts.sh"

devcluster_start
kc apply -f crds/ >/dev/null
wait_for 10 kc get rollouts.knit.dev
controller_start
check "knit-controller becomes ready" curl -sf "$CTRL_HEALTH/readyz"

# ---- helpers ----

# hash_of NS NAME: the Rollout's current revision hash.
hash_of() { ro "$1" "$2" '.status.currentPodHash // empty'; }
# rs_spec NS RSNAME / rs_avail NS RSNAME
rs_spec() { kc -n "$1" get rs "$2" -o jsonpath='{.spec.replicas}' 2>/dev/null; }
rs_avail() {
	local a
	a=$(kc -n "$1" get rs "$2" -o jsonpath='{.status.availableReplicas}' 2>/dev/null)
	echo "${a:-0}"
}
# svc_hash NS SVC: the revision a Service selects.
svc_hash() {
	kc -n "$1" get svc "$2" -o json | jq -r '.spec.selector["knit.dev/pod-template-hash"] // empty'
}
# paused_at NS NAME STEP: Paused with currentStepIndex STEP.
paused_at() { phase_is "$1" "$2" Paused && step_is "$1" "$2" "$3"; }
# counts_are NS RS N: spec N and N available.
counts_are() { [ "$(rs_spec "$1" "$2")" = "$3" ] && [ "$(rs_avail "$1" "$2")" = "$3" ]; }
set_image() {
	kc -n "$1" patch rollout.knit.dev "$2" --type json \
		-p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"$3\"}]" >/dev/null
}
# op NS NAME promote|promote-full|abort|retry
op() { kc -n "$1" annotate rollout.knit.dev "$2" "knit.dev/$3=$(date +%s%N)" --overwrite >/dev/null; }
event_count() { events_of "$1" "$2" | jq "[.items[] | select(.reason == \"$3\")] | length"; }
has_event() { [ "$(event_count "$1" "$2" "$3")" -ge 1 ]; }
# Predicates for wait_for (evaluated on every try).
rs_spec_is() { [ "$(rs_spec "$1" "$2")" = "$3" ]; }
rs_count_is() { [ "$(kc -n "$1" get rs -o name | wc -l)" = "$2" ]; }
svc_selects() { [ "$(svc_hash "$1" "$2")" = "$3" ]; }
stable_is_current() { [ "$(ro "$1" "$2" '.status.stableRS')" = "$(hash_of "$1" "$2")" ]; }

# ---- canary ----
echo "-- canary: steps, an indefinite pause, promote, a timed pause"
new_ns canary
service canary web-stable web
service canary web-canary web
kc -n canary apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:1.0"}]}
  strategy:
    canary:
      stableService: web-stable
      canaryService: web-canary
      maxSurge: 1
      maxUnavailable: 0
      steps:
      - setWeight: 20
      - pause: {}
      - setWeight: 60
      - pause: {duration: 4s}
EOF
check "the first revision becomes Healthy" wait_for 30 phase_is canary web Healthy
check "kubectl wait --for=condition=Ready returns" \
	kc -n canary wait --for=condition=Ready rollout.knit.dev/web --timeout=20s
H1=$(hash_of canary web)
check_eq "the first revision is stable" "$H1" "$(ro canary web '.status.stableRS')"
check_eq "its ReplicaSet web-<hash> runs 5" "5" "$(rs_spec canary "web-$H1")"
check_eq "its pods carry the hash label" "5" \
	"$(kc -n canary get pods -l "knit.dev/pod-template-hash=$H1" -o name | wc -l)"
check_eq "the stable Service selects it" "$H1" "$(svc_hash canary web-stable)"
check_eq "the ReplicaSet is owned by the Rollout" "Rollout/web" \
	"$(kc -n canary get rs "web-$H1" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')"

set_image canary web registry.example/web:2.0
check "a new version pauses after setWeight 20" wait_for 30 paused_at canary web 1
H2=$(hash_of canary web)
check "the new revision has its own hash" test -n "$H2" -a "$H2" != "$H1"
check "setWeight 20 of 5 runs 1 canary pod" counts_are canary "web-$H2" 1
check_eq "and 4 stable ones" "4" "$(rs_spec canary "web-$H1")"
check_eq "the canary Service selects the new revision" "$H2" "$(svc_hash canary web-canary)"
check_eq "the stable Service still selects the old one" "$H1" "$(svc_hash canary web-stable)"
check_eq "the weight column says 20" "20" "$(ro canary web '.status.canary.weight')"
check_contains "kubectl get shows phase and step" "Paused" \
	"$(kc -n canary get kro web)"
sleep 3
check "an indefinite pause still waits 3 s later" paused_at canary web 1

op canary web promote
check "a promote moves on to the timed pause" wait_for 30 paused_at canary web 3
check "setWeight 60 of 5 runs 3 canary pods" counts_are canary "web-$H2" 3
check_eq "and 2 stable ones" "2" "$(rs_spec canary "web-$H1")"
check "the timed pause resumes by itself and the rollout completes" \
	wait_for 30 phase_is canary web Healthy
check_eq "the new revision is stable" "$H2" "$(ro canary web '.status.stableRS')"
check "it runs all 5" counts_are canary "web-$H2" 5
check "the old revision is scaled to 0" wait_for 20 rs_spec_is canary "web-$H1" 0
check_eq "both Services select the new revision" "$H2 $H2" \
	"$(svc_hash canary web-stable) $(svc_hash canary web-canary)"
check_eq "the promote was acknowledged" \
	"$(ro canary web '.metadata.annotations["knit.dev/promote"]')" \
	"$(ro canary web '.status.operations.promote')"
desc=$(kc -n canary describe rollout.knit.dev web)
check_contains "kubectl describe shows the step Events" "RolloutStepCompleted" "$desc"
check_contains "and who promoted" "kubectl-annotate" "$desc"
check_eq "the history has both revisions" "Promoted" \
	"$(ro canary web '.status.history[0].outcome')"
check_contains "the history names the image" "web:2.0" \
	"$(ro canary web '.status.history[0].images')"

# ---- abort and retry ----
echo "-- abort and retry"
set_image canary web registry.example/web:3.0
check "version 3 pauses at step 1" wait_for 30 paused_at canary web 1
H3=$(hash_of canary web)
op canary web abort
check "abort makes the rollout Degraded" wait_for 20 phase_is canary web Degraded
check "all replicas go back to the stable revision" wait_for 20 counts_are canary "web-$H2" 5
check "the aborted revision is scaled to 0" wait_for 20 rs_spec_is canary "web-$H3" 0
check "the canary Service goes back to stable" wait_for 20 svc_selects canary web-canary "$H2"
check_eq "Stalled is True" "True" \
	"$(ro canary web '.status.conditions[] | select(.type=="Stalled") | .status')"
check_contains "the spec still names version 3" "web:3.0" \
	"$(ro canary web '.spec.template.spec.containers[0].image')"
check "an Event records the abort" wait_for 10 has_event canary web RolloutAborted
op canary web retry
check "retry starts again and pauses at step 1" wait_for 30 paused_at canary web 1
check "with 1 canary pod again" counts_are canary "web-$H3" 1

# ---- a new version supersedes the canary ----
echo "-- a new version mid-canary"
set_image canary web registry.example/web:4.0
check "version 4 starts its own canary" wait_for 30 paused_at canary web 1
H4=$(hash_of canary web)
check "it is a new revision" test "$H4" != "$H3"
check "version 3's ReplicaSet goes to 0" wait_for 20 rs_spec_is canary "web-$H3" 0
check "version 4 runs 1 canary pod" counts_are canary "web-$H4" 1
check_contains "version 3 is recorded as Superseded" "Superseded" \
	"$(ro canary web '[.status.history[] | .outcome] | join(",")')"
op canary web promote-full
check "promote-full skips the remaining steps" wait_for 30 phase_is canary web Healthy
check_eq "version 4 is stable" "$H4" "$(ro canary web '.status.stableRS')"

# ---- pause by spec, restart ----
echo "-- spec.paused and restartAt"
set_image canary web registry.example/web:5.0
check "version 5 pauses at step 1" wait_for 30 paused_at canary web 1
kc -n canary patch rollout.knit.dev web --type merge -p '{"spec":{"paused":true}}' >/dev/null
op canary web promote-full
pause_reason_is() { [ "$(ro canary web '.status.pauseConditions[0].reason')" = "$1" ]; }
check "spec.paused holds the rollout even after promote-full" wait_for 20 pause_reason_is PausedBySpec
sleep 3
check "it is still Paused 3 s later" phase_is canary web Paused
H5=$(hash_of canary web)
check_eq "and the stable revision did not change" "$H4" "$(ro canary web '.status.stableRS')"
kc -n canary patch rollout.knit.dev web --type merge -p '{"spec":{"paused":false}}' >/dev/null
check "resuming lets it complete" wait_for 30 phase_is canary web Healthy
check_eq "version 5 is stable" "$H5" "$(ro canary web '.status.stableRS')"
old_pods=$(kc -n canary get pods -l "knit.dev/pod-template-hash=$H5" -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort)
kc -n canary patch rollout.knit.dev web --type merge -p \
	"{\"spec\":{\"restartAt\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\"}}" >/dev/null
restarted() { [ -n "$(ro canary web '.status.restartedAt // empty')" ]; }
check "restartAt replaces the pods" wait_for 60 restarted
new_pods=$(kc -n canary get pods -l "knit.dev/pod-template-hash=$H5" -o jsonpath='{.items[*].metadata.name}' | tr ' ' '\n' | sort)
check_eq "none of the old pods is left" "" "$(comm -12 <(echo "$old_pods") <(echo "$new_pods"))"
check "the rollout is Healthy again with 5 pods" wait_for 30 counts_are canary "web-$H5" 5
check "an Event says RolloutRestarted" wait_for 10 has_event canary web RolloutRestarted

# ---- blue-green ----
echo "-- blue-green: preview, promotion, delayed scale-down"
new_ns bg
service bg shop-active shop
service bg shop-preview shop
kc -n bg apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: shop}
spec:
  replicas: 3
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec: {containers: [{name: shop, image: "registry.example/shop:1.0"}]}
  strategy:
    blueGreen:
      activeService: shop-active
      previewService: shop-preview
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 4
EOF
check "blue-green first revision becomes Healthy" wait_for 30 phase_is bg shop Healthy
B1=$(hash_of bg shop)
check_eq "the active Service selects it" "$B1" "$(svc_hash bg shop-active)"
set_image bg shop registry.example/shop:2.0
check "the new revision waits for promotion" wait_for 30 phase_is bg shop Paused
B2=$(hash_of bg shop)
check "the preview revision runs 3 pods" wait_for 10 counts_are bg "shop-$B2" 3
check_eq "the preview Service selects it" "$B2" "$(svc_hash bg shop-preview)"
check_eq "the active Service still selects the old one" "$B1" "$(svc_hash bg shop-active)"
op bg shop promote
check "promotion switches the active Service" wait_for 20 svc_selects bg shop-active "$B2"
check_eq "the old revision still runs right after the switch" "3" "$(rs_spec bg "shop-$B1")"
check_contains "it carries its scale-down deadline" "T" \
	"$(kc -n bg get rs "shop-$B1" -o jsonpath='{.metadata.annotations.knit\.dev/scale-down-deadline}')"
check "after scaleDownDelaySeconds it is scaled to 0" wait_for 20 rs_spec_is bg "shop-$B1" 0
check "the rollout is Healthy" wait_for 10 phase_is bg shop Healthy

# ---- rolling update ----
echo "-- rolling update within maxSurge and maxUnavailable"
new_ns roll
kc -n roll apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: api}
spec:
  replicas: 4
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: api, image: "registry.example/api:1.0"}]}
  strategy:
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
EOF
check "the rolling rollout becomes Healthy" wait_for 30 phase_is roll api Healthy
set_image roll api registry.example/api:2.0
max_total=0
min_avail=99
for _ in $(seq 1 150); do
	read -r total avail < <(kc -n roll get rs -l app=api -o json |
		jq -r '[([.items[].spec.replicas] | add), ([.items[].status.availableReplicas // 0] | add)] | @tsv')
	[ "$total" -gt "$max_total" ] && max_total=$total
	[ "$avail" -lt "$min_avail" ] && min_avail=$avail
	phase_is roll api Healthy && [ "$(ro roll api '.status.updatedReplicas')" = 4 ] && break
	sleep 0.2
done
check "the rolling update completes" phase_is roll api Healthy
check "it never exceeds replicas + maxSurge (max $max_total)" test "$max_total" -le 5
check "it never drops below replicas - maxUnavailable (min $min_avail)" test "$min_avail" -ge 4
check_eq "only the new ReplicaSet keeps replicas" "1" \
	"$(kc -n roll get rs -l app=api -o json | jq '[.items[] | select(.spec.replicas > 0)] | length')"

# ---- progress deadline ----
echo "-- pods that never become ready"
new_ns stuck
kc -n stuck apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: app}
spec:
  replicas: 2
  progressDeadlineSeconds: 4
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec: {containers: [{name: app, image: "registry.example/app:1.0"}]}
  strategy:
    canary:
      steps: [{setWeight: 50}, {pause: {}}]
EOF
check "the stuck test's first revision is Healthy" wait_for 30 phase_is stuck app Healthy
S1=$(hash_of stuck app)
kc -n stuck patch rollout.knit.dev app --type merge -p \
	'{"spec":{"template":{"metadata":{"annotations":{"devcluster.knit.dev/never-ready":"true"}}}}}' >/dev/null
check "the progress deadline aborts automatically" wait_for 30 phase_is stuck app Degraded
check_contains "the message names the deadline" "deadline" "$(ro stuck app '.status.message')"
check "an Event says ProgressDeadlineExceeded" wait_for 10 has_event stuck app ProgressDeadlineExceeded
check "the stable revision keeps its 2 pods" counts_are stuck "app-$S1" 2
check "the never-ready revision is scaled to 0" wait_for 20 rs_spec_is stuck "app-$(hash_of stuck app)" 0

# ---- invalid spec ----
echo "-- invalid specs"
new_ns bad
kc -n bad apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: oops}
spec:
  replicas: 2
  selector: {matchLabels: {app: oops}}
  template:
    metadata: {labels: {app: other}}
    spec: {containers: [{name: c, image: "registry.example/oops:1.0"}]}
  strategy:
    blueGreen: {activeService: missing-svc}
EOF
invalid() { [ "$(ro bad oops '.status.conditions[]? | select(.type=="InvalidSpec") | .status')" = True ]; }
check "a selector that misses the template is InvalidSpec" wait_for 20 invalid
msg=$(ro bad oops '.status.conditions[] | select(.type=="InvalidSpec") | .message')
check_contains "the condition names the selector" "spec.selector" "$msg"
check_contains "and the missing Service" "missing-svc" "$msg"
check "a Warning Event says InvalidSpec" wait_for 10 has_event bad oops InvalidSpec
check_eq "no ReplicaSet was created" "0" "$(kc -n bad get rs -o name | wc -l)"
service bad missing-svc oops
kc -n bad patch rollout.knit.dev oops --type merge -p \
	'{"spec":{"template":{"metadata":{"labels":{"app":"oops"}}}}}' >/dev/null
check "the fixed spec recovers" wait_for 30 phase_is bad oops Healthy
r=$(kc -n bad apply -f - 2>&1 <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: heavy}
spec:
  selector: {matchLabels: {app: h}}
  template: {metadata: {labels: {app: h}}, spec: {containers: [{name: c, image: i}]}}
  strategy: {canary: {steps: [{setWeight: 150}]}}
EOF
)
check_contains "the API server rejects setWeight 150" "setWeight" "$r"

# ---- history limit and deletion ----
echo "-- revision history and garbage collection"
new_ns hist
kc -n hist apply -f - >/dev/null <<'EOF'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: h}
spec:
  replicas: 1
  revisionHistoryLimit: 1
  selector: {matchLabels: {app: h}}
  template:
    metadata: {labels: {app: h}}
    spec: {containers: [{name: h, image: "registry.example/h:1"}]}
EOF
check "revision 1 is Healthy" wait_for 30 phase_is hist h Healthy
for v in 2 3 4; do
	set_image hist h "registry.example/h:$v"
	wait_for 30 stable_is_current hist h || true
	wait_for 30 phase_is hist h Healthy || true
done
check "only the stable and 1 old ReplicaSet remain" wait_for 20 rs_count_is hist 2
kc -n hist delete rollout.knit.dev h >/dev/null
check "deleting the Rollout removes its ReplicaSets" wait_for 20 rs_count_is hist 0

# ---- the controller's endpoints ----
echo "-- metrics and health"
m=$(curl -s "$CTRL_METRICS/metrics")
check_contains "reconciles are counted" 'knit_reconcile_total{result="success"}' "$m"
check_contains "rollouts are counted by phase" 'knit_rollouts{phase="Healthy"}' "$m"
check_contains "API requests are counted by verb and code" 'knit_api_requests_total{verb="PUT",code="200"}' "$m"
calls() { curl -s "$CTRL_METRICS/metrics" | awk '/^knit_api_requests_total/ {s += $2} END {print s}'; }
before=$(calls)
sleep 4
check_eq "idle Rollouts cost no API call" "$before" "$(calls)"
check_eq "healthz answers" "ok" "$(curl -s "$CTRL_HEALTH/healthz")"

finish
