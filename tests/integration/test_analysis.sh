#!/bin/bash
# End-to-end analysis: knit-controller gating canary and blue-green
# Rollouts on measurements from the real Prometheus scraping
# knit-devcluster's simulated traffic (pods answer with the error rate in
# their devcluster.knit.dev/error-rate annotation), from a web API and
# from Jobs -- checked with the real kubectl the way an operator would:
# the Rollout's phase and message, the AnalysisRun's measurements, the
# Events.
#
# Timing: Prometheus scrapes every second and the queries use a 10 s
# rate window; metrics wait 10 s (initialDelay) so the canary's pods have
# a full window of traffic before the first measurement.
. "$(dirname "$0")/../lib/harness.sh"
. "$(dirname "$0")/../lib/rollouts.sh"

devcluster_start --request-rate 200 --pod-ready-delay 0.5
if ! prometheus_start; then
	fail "prometheus scrapes the devcluster"
	finish
	exit 1
fi
for f in crds/*.yaml; do kc apply -f "$f" >/dev/null; done
wait_for 10 kc get analysisruns.knit.dev
controller_start
check "knit-controller becomes ready" curl -sf "$CTRL_HEALTH/readyz"

# ---- helpers ----
run() { kc -n "$1" get analysisrun.knit.dev "$2" -o json | jq -r "$3"; }
healthy() { phase_is "$1" "$2" Healthy && [ "$(ro "$1" "$2" '.status.stableRS')" = "$(ro "$1" "$2" '.status.currentPodHash')" ]; }
run_phase_is() { [ "$(run "$1" "$2" '.status.phase // empty')" = "$3" ]; }
run_exists() { kc -n "$1" get analysisrun.knit.dev "$2" >/dev/null 2>&1; }
# run_name NS ROLLOUT KIND: the run of KIND for the current revision.
run_name() {
	ro "$1" "$2" ".status.analysisRuns[]? | select(.kind == \"$3\") | .name" | head -n1
}
has_run() { [ -n "$(run_name "$1" "$2" "$3")" ]; }
event_msg() { events_of "$1" "$2" | jq -r "[.items[] | select(.reason == \"$3\") | .message] | last // empty"; }
has_event() { [ -n "$(event_msg "$1" "$2" "$3")" ]; }
# set_version NS NAME IMAGE ERROR-RATE: a new revision whose pods fail
# that fraction of requests.
set_version() {
	kc -n "$1" patch rollout.knit.dev "$2" --type merge -p \
		"{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{\"devcluster.knit.dev/error-rate\":\"$4\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"$3\"}]}}}}" >/dev/null
}
# canary NS NAME STEPS-YAML [EXTRA-CANARY-YAML]: a 5-replica canary Rollout
# at version 1 (1% errors), with stable and canary Services.
canary() {
	service "$1" "$2" "$2"
	service "$1" "$2-canary" "$2"
	kc -n "$1" apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: $2}
spec:
  replicas: 5
  selector: {matchLabels: {app: $2}}
  template:
    metadata:
      labels: {app: $2}
      annotations: {devcluster.knit.dev/error-rate: "0.01"}
    spec: {containers: [{name: app, image: "shop:1"}]}
  strategy:
    canary:
      stableService: $2
      canaryService: $2-canary
${4:-}
      steps:
$3
EOF
}

# The error-rate template: the canary revision's share of 5xx answers over
# the last 10 s, below 5% to pass.
error_rate_template() { # NS NAME INTERVAL COUNT FAILURE-LIMIT [ADDRESS] [ERRLIMIT]
	kc -n "$1" apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: $2}
spec:
  args:
    - name: namespace
    - name: canary-hash
  metrics:
    - name: error-rate
      interval: $3
      count: $4
      initialDelay: 10s
      failureLimit: $5
      consecutiveErrorLimit: ${7:-4}
      successCondition: default(result[0], 0) < 0.05
      provider:
        prometheus:
          address: ${6:-$PROM}
          timeout: 3s
          query: |
            sum(rate(http_requests_total{namespace="{{args.namespace}}", pod_template_hash="{{args.canary-hash}}", code=~"5.."}[10s]))
            /
            sum(rate(http_requests_total{namespace="{{args.namespace}}", pod_template_hash="{{args.canary-hash}}"}[10s]))
EOF
}
ANALYSIS_STEP='        - setWeight: 20
        - analysis:
            templates: [{templateName: error-rate}]
            args:
              - {name: namespace, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
              - {name: canary-hash, valueFrom: {podTemplateHashValue: Latest}}
        - setWeight: 60'

# ---- a good version passes ----
echo "-- a canary with 1% errors passes its analysis step"
new_ns good
error_rate_template good error-rate 3s 3 0
canary good shop "$ANALYSIS_STEP"
check "version 1 deploys" wait_for 60 healthy good shop
set_version good shop shop:2 0.01
check "the analysis step starts a run" wait_for 60 has_run good shop step-2
R=$(run_name good shop step-2)
check "the Rollout waits at the analysis step" step_is good shop 1
check "the run succeeds" wait_for 90 run_phase_is good "$R" Successful
check "the canary completes" wait_for 60 healthy good shop
check_eq "the run measured 3 times" "$(run good "$R" '.status.metricResults[0].count')" 3
V=$(run good "$R" '.status.metricResults[0].measurements[-1].value' | tr -d '[]')
check "a measured value is about 0.01 ($V)" awk -v v="$V" 'BEGIN { exit !(v >= 0.005 && v <= 0.015) }'
check_eq "each measurement says Successful" \
	"$(run good "$R" '[.status.metricResults[0].measurements[].phase] | unique | join(",")')" Successful
check "Event AnalysisRunSuccessful on the Rollout" has_event good shop AnalysisRunSuccessful
check_contains "Event AnalysisRunStarted names the run" "$R" "$(event_msg good shop AnalysisRunStarted)"
check_eq "the run is owned by the Rollout" \
	"$(run good "$R" '.metadata.ownerReferences[0].kind + "/" + .metadata.ownerReferences[0].name')" Rollout/shop
check_contains "kubectl get analysisruns shows the phase" "Successful" "$(kc -n good get analysisruns.knit.dev 2>&1)"

# ---- a bad version is rolled back ----
echo "-- a canary with 20% errors fails its analysis and is rolled back"
set_version good shop shop:3 0.2
check "a run starts for the new revision" wait_for 60 has_run good shop step-2
R3=$(run_name good shop step-2)
check "the run fails" wait_for 90 run_phase_is good "$R3" Failed
check "the Rollout aborts (Degraded)" wait_for 30 phase_is good shop Degraded
started=$(run good "$R3" '.status.startedAt')
aborted=$(ro good shop '.status.abortedAt')
secs=$(($(date -d "$aborted" +%s) - $(date -d "$started" +%s)))
# initialDelay 10 s + interval 3 s x (failureLimit 0 + 1) + scrape lag
check "rolled back within 10 s + 3 s x 1 + 5 s of the run's start ($secs s)" test "$secs" -le 18
MSG=$(ro good shop '.status.message')
check_contains "the Rollout's message names the run" "$R3" "$MSG"
check "the message carries the measured value" grep -qE 'result \[0\.(19|2)' <<<"$MSG"
V=$(run good "$R3" '.status.metricResults[0].measurements[-1].value' | tr -d '[]')
check "the failing measurement is about 0.2 ($V)" awk -v v="$V" 'BEGIN { exit !(v >= 0.18 && v <= 0.22) }'
check "Event AnalysisRunFailed on the Rollout" has_event good shop AnalysisRunFailed
check "Event RolloutAborted on the Rollout" has_event good shop RolloutAborted
stable=$(ro good shop '.status.stableRS')
check_eq "the stable Service keeps the stable revision" \
	"$(kc -n good get svc shop -o jsonpath='{.spec.selector.knit\.dev/pod-template-hash}')" "$stable"
canary_rs() { kc -n good get rs "shop-$(ro good shop '.status.currentPodHash')" -o jsonpath='{.spec.replicas}'; }
canary_zero() { [ "$(canary_rs)" = 0 ]; }
check "the canary is scaled to 0" wait_for 30 canary_zero
check_eq "the condition Progressing says RolloutAborted" \
	"$(ro good shop '.status.conditions[] | select(.type == "Progressing") | .reason')" RolloutAborted

# ---- background analysis ----
echo "-- background analysis aborts a canary during its pause"
new_ns bg
kc -n bg apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: always-high}
spec:
  metrics:
    - name: requests
      interval: 2s
      failureLimit: 1
      successCondition: result[0] < 0
      provider:
        prometheus: {address: "$PROM", query: "vector(1)"}
EOF
canary bg api '        - setWeight: 20
        - pause: {}' '      analysis:
        templates: [{templateName: always-high}]
        startingStep: 1'
check "version 1 deploys" wait_for 60 healthy bg api
set_version bg api api:2 0.01
check "the canary pauses at its second step" wait_for 60 phase_is bg api Paused
check "the background run starts" wait_for 30 has_run bg api background
B=$(run_name bg api background)
check "the background run fails" wait_for 30 run_phase_is bg "$B" Failed
check "the Rollout aborts during the pause" wait_for 30 phase_is bg api Degraded
check_eq "failed twice (failureLimit 1)" "$(run bg "$B" '.status.metricResults[0].failed')" 2

# ---- blue-green pre-promotion and Jobs ----
echo "-- blue-green: pre-promotion analysis by Job gates the switch"
new_ns bluegreen
job_template() { # NAME EXIT-CODE
	kc -n bluegreen apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: $1}
spec:
  metrics:
    - name: smoke
      provider:
        job:
          spec:
            backoffLimit: 0
            template:
              metadata:
                annotations: {devcluster.knit.dev/exit-code: "$2", devcluster.knit.dev/run-seconds: "1"}
              spec:
                restartPolicy: Never
                containers: [{name: smoke, image: "smoke-test:1"}]
EOF
}
job_template smoke-pass 0
job_template smoke-fail 1
service bluegreen web-active web
service bluegreen web-preview web
bluegreen() { # TEMPLATE
	kc -n bluegreen apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: "web:1"}]}
  strategy:
    blueGreen:
      activeService: web-active
      previewService: web-preview
      scaleDownDelaySeconds: 5
      prePromotionAnalysis:
        templates: [{templateName: $1}]
EOF
}
bluegreen smoke-pass
check "version 1 deploys" wait_for 60 healthy bluegreen web
active_hash() { kc -n bluegreen get svc web-active -o jsonpath='{.spec.selector.knit\.dev/pod-template-hash}'; }
V1=$(active_hash)
kc -n bluegreen patch rollout.knit.dev web --type merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"web:2"}]}}}}' >/dev/null
check "the pre-promotion run starts" wait_for 60 has_run bluegreen web pre-promotion
P=$(run_name bluegreen web pre-promotion)
check_eq "the active Service stays on version 1 while it runs" "$(active_hash)" "$V1"
check "the Job check passes" wait_for 60 run_phase_is bluegreen "$P" Successful
J=$(run bluegreen "$P" '.status.metricResults[0].measurements[-1].metadata.jobName')
check "the measurement names its Job ($J)" kc -n bluegreen get job "$J"
check "the active Service switches after it" wait_for 60 healthy bluegreen web
check "the active Service selects version 2" test "$(active_hash)" != "$V1"
V2=$(active_hash)
kc -n bluegreen patch rollout.knit.dev web --type merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"web:3"}]}},"strategy":{"blueGreen":{"prePromotionAnalysis":{"templates":[{"templateName":"smoke-fail"}]}}}}}' >/dev/null
check "the Rollout aborts" wait_for 90 phase_is bluegreen web Degraded
P3=$(ro bluegreen web '.status.message' | grep -o "web-[a-z0-9]*-1-pre-promotion" | head -n1)
check_eq "the run ended Failed" "$(run bluegreen "$P3" '.status.phase')" Failed
check_contains "its measurement says the Job failed" "failed" "$(run bluegreen "$P3" '.status.metricResults[0].measurements[-1].message')"
check_eq "the active Service never left version 2" "$(active_hash)" "$V2"

echo "-- blue-green: post-promotion analysis switches back when it fails"
kc -n bluegreen apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: never-good}
spec:
  metrics:
    - name: impossible
      initialDelay: 6s
      successCondition: result[0] < 0
      provider:
        prometheus: {address: "$PROM", query: "vector(1)"}
EOF
service bluegreen api-active api
kc -n bluegreen apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: Rollout
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec: {containers: [{name: app, image: "api:1"}]}
  strategy:
    blueGreen:
      activeService: api-active
      postPromotionAnalysis:
        templates: [{templateName: never-good}]
EOF
check "version 1 deploys" wait_for 60 healthy bluegreen api
api_hash() { kc -n bluegreen get svc api-active -o jsonpath='{.spec.selector.knit\.dev/pod-template-hash}'; }
A1=$(api_hash)
kc -n bluegreen patch rollout.knit.dev api --type merge -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"api:2"}]}}}}' >/dev/null
switched() { [ "$(ro bluegreen api '.status.blueGreen.switched // false')" = true ]; }
check "the active Service switches first (status.blueGreen.switched)" wait_for 60 switched
A2=$(api_hash)
check "the active Service selects the new revision while post-promotion analysis runs" test "$A2" != "$A1"
check_eq "the old revision is still the stable one" "$(ro bluegreen api '.status.stableRS')" "$A1"
check "the failed post-promotion analysis aborts the Rollout" wait_for 60 phase_is bluegreen api Degraded
back_on_v1() { [ "$(api_hash)" = "$A1" ]; }
check "the active Service switches back to the old revision" wait_for 30 back_on_v1
check "Event AnalysisRunFailed on the Rollout" has_event bluegreen api AnalysisRunFailed

# ---- web provider and a missing template ----
echo "-- a web metric, and a missing template"
new_ns web
kc -n web apply -f - >/dev/null <<EOF
apiVersion: knit.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: prom-api}
spec:
  args: [{name: q, value: "vector(7)"}]
  metrics:
    - name: seven
      successCondition: result == "7"
      provider:
        web:
          url: "$PROM/api/v1/query?query={{args.q}}"
          jsonPath: "{\$.data.result[0].value[1]}"
EOF
canary web svc '        - setWeight: 20
        - analysis: {templates: [{templateName: prom-api}]}
        - analysis: {templates: [{templateName: nope}]}'
check "version 1 deploys" wait_for 60 healthy web svc
set_version web svc svc:2 0.01
check "the web metric passes and the next step starts" wait_for 60 has_run web svc step-3
W=$(ro web svc '.status.analysisRuns[] | select(.kind == "step-2") | .name')
check_eq "the web measurement's value" "$(run web "$W" '.status.metricResults[0].measurements[0].value')" '"7"'
check "the missing template aborts the Rollout" wait_for 30 phase_is web svc Degraded
check_contains "the message says which template is missing" 'AnalysisTemplate "nope" not found' "$(ro web svc '.status.message')"

# ---- restart during analysis ----
echo "-- killing the controller during an analysis loses or doubles no measurement"
new_ns restart
error_rate_template restart error-rate 3s 6 0
canary restart shop "$ANALYSIS_STEP"
check "version 1 deploys" wait_for 60 healthy restart shop
set_version restart shop shop:2 0.01
check "the analysis step starts a run" wait_for 60 has_run restart shop step-2
R=$(run_name restart shop step-2)
two_measured() { [ "$(run restart "$R" '.status.metricResults[0].count // 0')" -ge 2 ]; }
check "two measurements are recorded" wait_for 60 two_measured
controller_stop KILL
sleep 4
controller_start
check "the run succeeds after the restart" wait_for 90 run_phase_is restart "$R" Successful
check_eq "exactly 6 measurements" "$(run restart "$R" '.status.metricResults[0].count')" 6
gaps=$(run restart "$R" '[.status.metricResults[0].measurements[].startedAt | sub("\\.[0-9]+Z$"; "Z") | fromdate] | [range(1; length) as $i | .[$i] - .[$i-1]] | @tsv')
# Fixed-rate schedule: 3 s apart; the one measurement due while the
# controller was down is taken when it is back (a longer gap), none twice.
check "no two measurements closer than 2 s ($gaps)" bash -c "for g in $gaps; do [ \$g -ge 2 ] || exit 1; done"
check "no gap beyond the restart plus one interval ($gaps)" bash -c "for g in $gaps; do [ \$g -le 12 ] || exit 1; done"
check "the canary completes" wait_for 60 healthy restart shop

# ---- Prometheus stops mid-analysis ----
echo "-- Prometheus stopped mid-analysis: errors, then Error and abort"
new_ns down
error_rate_template down error-rate 2s 10 0 "$PROM" 2
canary down shop "$ANALYSIS_STEP"
check "version 1 deploys" wait_for 60 healthy down shop
set_version down shop shop:2 0.01
check "the analysis step starts a run" wait_for 60 has_run down shop step-2
D=$(run_name down shop step-2)
one_ok() { [ "$(run down "$D" '.status.metricResults[0].successful // 0')" -ge 1 ]; }
check "a first measurement succeeds" wait_for 60 one_ok
kill "$PROM_PID"
wait "$PROM_PID" 2>/dev/null
PROM_PID=""
check "the run ends in Error" wait_for 60 run_phase_is down "$D" Error
check_eq "3 consecutive errors (limit 2)" "$(run down "$D" '.status.metricResults[0].consecutiveError')" 3
check_contains "the measurements say Prometheus was unreachable" "unreachable" \
	"$(run down "$D" '.status.metricResults[0].measurements[-1].message')"
check "the Rollout aborts" wait_for 30 phase_is down shop Degraded
check_contains "the Rollout's message says Prometheus was unreachable" "unreachable" "$(ro down shop '.status.message')"
check "Event AnalysisRunError on the Rollout" has_event down shop AnalysisRunError

controller_stop
devcluster_stop
finish
