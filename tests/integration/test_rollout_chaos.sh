#!/bin/bash
# Restart safety: knit-controller is killed with SIGKILL at 20 random
# moments while a multi-step canary runs (and restarted each time). The
# canary must still complete, with exactly one ReplicaSet per revision,
# every step index seen once and in order, and no step announced twice.
. "$(dirname "$0")/../lib/harness.sh"

devcluster_start
kc apply -f crds/ >/dev/null
wait_for 10 kc get rollouts.knit.dev
api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"chaos"}}' >/dev/null
ro() { kc -n chaos get rollout.knit.dev web -o json | jq -r "$1"; }
phase_is() { [ "$(ro '.status.phase')" = "$1" ]; }
set_image() {
	kc -n chaos patch rollout.knit.dev web --type json \
		-p "[{\"op\":\"replace\",\"path\":\"/spec/template/spec/containers/0/image\",\"value\":\"$1\"}]" >/dev/null
}

kc -n chaos apply -f - >/dev/null <<'YAML'
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "registry.example/web:1"}]}
  strategy:
    canary:
      maxSurge: 1
      maxUnavailable: 0
      steps:
      - setWeight: 20
      - pause: {duration: 1s}
      - setWeight: 40
      - pause: {duration: 1s}
      - setWeight: 60
      - pause: {duration: 1s}
      - setWeight: 80
      - pause: {duration: 1s}
YAML
controller_start
check "the first revision becomes Healthy" wait_for 30 phase_is Healthy
controller_stop

# Every change of the Rollout as kubectl's watch sees it: revision and step.
kc -n chaos get rollout.knit.dev web --watch-only -o \
	jsonpath='{.status.currentPodHash} {.status.currentStepIndex} {.status.phase}{"\n"}' \
	>"$WORK/watch.log" 2>&1 &
WATCH=$!
sleep 0.5

kills=0
revisions=1
version=2
set_image "registry.example/web:$version"
while [ $kills -lt 20 ]; do
	controller_start >/dev/null
	# run for a random 0.3 to 2.2 s, then SIGKILL
	sleep "$(awk -v r=$RANDOM 'BEGIN {printf "%.2f", 0.3 + (r % 20) / 10}')"
	controller_stop KILL
	kills=$((kills + 1))
	if phase_is Healthy && [ "$(ro '.status.stableRS')" = "$(ro '.status.currentPodHash')" ]; then
		# this canary finished between kills: start the next one
		version=$((version + 1))
		set_image "registry.example/web:$version"
	fi
done
controller_start
check "after 20 kills the last canary completes" wait_for 60 phase_is Healthy
check_eq "the last version is stable" "registry.example/web:$version" \
	"$(kc -n chaos get rs "web-$(ro '.status.stableRS')" -o jsonpath='{.spec.template.spec.containers[0].image}')"
kill $WATCH 2>/dev/null
wait $WATCH 2>/dev/null

revisions=$((version))
rs_json=$(kc -n chaos get rs -o json)
check_eq "one ReplicaSet per revision ($revisions revisions)" "$revisions" \
	"$(echo "$rs_json" | jq '.items | length')"
check_eq "every ReplicaSet has its own hash" "$revisions" \
	"$(echo "$rs_json" | jq '[.items[].metadata.labels["knit.dev/pod-template-hash"]] | unique | length')"
check_eq "revision numbers are unique" "$revisions" \
	"$(echo "$rs_json" | jq '[.items[].metadata.annotations["knit.dev/revision"]] | unique | length')"

# Step sequence per revision: collapse repeats; each revision that went
# through the canary must show 0..8 in order without a gap or a return.
bad=$(awk '
	NF >= 2 && $2 != "" {
		if ($1 != hash) { hash = $1; last = -1 }
		if ($2 == last) next
		if (last >= 0 && $2 != last + 1) print "revision " $1 ": step " last " -> " $2
		last = $2
	}' "$WORK/watch.log")
check_eq "every step index is taken once and in order" "" "$bad"
steps_seen=$(awk 'NF >= 2 {print $1 " " $2}' "$WORK/watch.log" | sort -u | wc -l)
check "the watch saw the steps ($steps_seen revision/step pairs)" test "$steps_seen" -ge 9
twice=$(kc -n chaos get events -o json | jq -r '[.items[] | select(.reason == "RolloutStepCompleted" and .count > 1) | .message] | join("; ")')
check_eq "no step was announced twice" "" "$twice"
echo "  ($kills kills over $((version - 1)) version bumps)"

finish
