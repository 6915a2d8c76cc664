#!/bin/bash
# The simulated cluster behind knit-devcluster, seen through kubectl: the
# ReplicaSet controller (scaling, adoption, release, which pods go first),
# the pod lifecycle and its behaviour annotations, Endpoints and
# EndpointSlices following selectors and readiness, the Job controller's
# real conditions, namespace deletion, and a restart from a snapshot.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/harness.sh

devcluster_start --snapshot "$WORK/snap.json"

echo "-- node and namespaces"
check_contains "the simulated node is Ready" "Ready" \
	"$(kc get nodes --no-headers 2>&1)"
check_contains "default and kube-system exist" "kube-system" \
	"$(kc get ns -o name 2>&1)"

rs_yaml() { # NAME REPLICAS HASH [ANNOTATIONS-JSON]
	cat <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $1, labels: {app: web}}
spec:
  replicas: $2
  selector: {matchLabels: {app: web, knit.dev/pod-template-hash: "$3"}}
  template:
    metadata:
      labels: {app: web, knit.dev/pod-template-hash: "$3"}
      annotations: ${4:-{\}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        ports: [{name: http, containerPort: 8080}]
EOF
}

ready_count() { kc get rs "$1" -o jsonpath='{.status.readyReplicas}'; }
rs_ready_is() { [ "$(ready_count "$1")" = "$2" ]; }
pods_of() { kc get pods -l "knit.dev/pod-template-hash=$1" -o name | sort; }

echo "-- ReplicaSet scale up"
check "create a ReplicaSet of 3" kc apply -f <(rs_yaml web-a 3 a)
check "its 3 pods become Ready" wait_for 10 rs_ready_is web-a 3
out=$(kc get pods -l knit.dev/pod-template-hash=a --no-headers)
check_eq "kubectl get pods lists 3 pods" 3 "$(printf '%s\n' "$out" | grep -c 'web-a-')"
check_eq "all show 1/1 Running" 3 "$(printf '%s\n' "$out" | grep -c '1/1 *Running')"
name=$(pods_of a | head -n1)
check "pod names are <rs>-<5 chars>" \
	bash -c "[[ '$name' =~ ^pod/web-a-[bcdfghjklmnpqrstvwxz2456789]{5}$ ]]"
pod=$(kc get "$name" -o json)
check_eq "controller ownerReference to the ReplicaSet" "ReplicaSet/web-a/true" \
	"$(jq -r '.metadata.ownerReferences[0] | "\(.kind)/\(.name)/\(.controller)"' <<<"$pod")"
check_eq "labels come from the template" "a" \
	"$(jq -r '.metadata.labels["knit.dev/pod-template-hash"]' <<<"$pod")"
check_eq "scheduled to the node" "knit-devcluster" "$(jq -r .spec.nodeName <<<"$pod")"
check "has a pod IP in 10.244.0.0/16" \
	bash -c "[[ '$(jq -r .status.podIP <<<"$pod")' =~ ^10\.244\. ]]"
check_eq "Ready condition" "True" \
	"$(jq -r '.status.conditions[] | select(.type=="Ready") | .status' <<<"$pod")"
st=$(kc get rs web-a -o json | jq -c '.status | [.replicas, .fullyLabeledReplicas, .readyReplicas, .availableReplicas, .observedGeneration]')
check_eq "ReplicaSet status counts" "[3,3,3,3,1]" "$st"
check_contains "events record the creations" "Created pod: web-a-" \
	"$(kc get events --field-selector involvedObject.name=web-a 2>&1)"

echo "-- status within the readiness delay"
check "scale to 5" kc scale rs web-a --replicas=5
# the first status with 5 replicas comes well within the 1 s readiness delay
for _ in 1 2 3 4 5 6 7 8; do
	st=$(kc get rs web-a -o json | jq -c '.status | [.replicas, .readyReplicas]')
	[ "$st" != "[3,3]" ] && break
done
check_eq "new pods counted at once, not yet ready" "[5,3]" "$st"
check "then all 5 are Ready" wait_for 10 rs_ready_is web-a 5

echo "-- scale down removes the newest first"
newest=$(kc get pods -l knit.dev/pod-template-hash=a --sort-by=.metadata.creationTimestamp -o name | tail -n 2 | sort)
before=$(pods_of a)
check "scale to 3" kc scale rs web-a --replicas=3
# the removed pods terminate gracefully (0.5 s) before they are gone
three_left() { [ "$(pods_of a | grep -c pod/)" = 3 ]; }
check "the pods being removed finish terminating" wait_for 10 three_left
after=$(pods_of a)
gone=$(comm -23 <(echo "$before") <(echo "$after"))
check_eq "3 pods left" 3 "$(echo "$after" | grep -c pod/)"
check_eq "the 2 most recently ready pods went" "$newest" "$gone"

echo "-- adoption and not-ready pods first"
cat >"$WORK/orphan.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: stray
  labels: {app: web, knit.dev/pod-template-hash: a}
  annotations: {devcluster.knit.dev/never-ready: "true"}
spec:
  containers: [{name: app, image: nginx:1.27}]
EOF
check "create a matching orphan pod" kc apply -f "$WORK/orphan.yaml"
stray_gone() { ! kc get pod stray >/dev/null 2>&1; }
check "the ReplicaSet adopts it and, being one too many, deletes it" \
	wait_for 5 stray_gone
check_eq "the ready pods stay" "$after" "$(pods_of a)"
check_contains "deletion recorded" "Deleted pod: stray" \
	"$(kc get events --field-selector involvedObject.name=web-a 2>&1)"

echo "-- release on label change"
victim=$(pods_of a | head -n1)
check "relabel a pod out of the selector" \
	kc label "$victim" knit.dev/pod-template-hash=x --overwrite
released() { [ "$(kc get "$victim" -o jsonpath='{.metadata.ownerReferences}')" = "" ]; }
check "its ownerReference is removed" wait_for 5 released
check "a replacement brings the set back to 3 ready" wait_for 10 rs_ready_is web-a 3
check_eq "the released pod still runs" "Running" \
	"$(kc get "$victim" -o jsonpath='{.status.phase}')"
kc delete "$victim" --wait=false >/dev/null
victim=$(pods_of a | head -n1)
check "drop a pod's ownerReference and relabel it in one patch" kc patch "$victim" \
	--type=merge -p '{"metadata":{"ownerReferences":null,"labels":{"knit.dev/pod-template-hash":"y"}}}'
three_owned() { [ "$(kc get pods -l knit.dev/pod-template-hash=a -o name | wc -l)" = 3 ] && rs_ready_is web-a 3; }
check "the ReplicaSet it left replaces it" wait_for 10 three_owned
kc delete "$victim" --wait=false >/dev/null
out=$(kc apply -f <(rs_yaml web-n 1 n | sed 's/    spec:/    spec:\n      restartPolicy: Never/') 2>&1)
check_contains "a ReplicaSet template must restart Always" \
	'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' "$out"

echo "-- behaviours"
check "a ReplicaSet that never becomes ready" \
	kc apply -f <(rs_yaml web-b 2 b '{devcluster.knit.dev/never-ready: "true"}')
sleep 2.5
out=$(kc get pods -l knit.dev/pod-template-hash=b --no-headers)
check_eq "its pods run but are 0/1" 2 "$(printf '%s\n' "$out" | grep -c '0/1 *Running')"
check_eq "readyReplicas stays absent (0)" "" "$(ready_count web-b)"
cat >"$WORK/crash.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: crashy
  annotations: {devcluster.knit.dev/crash-loop: "true", devcluster.knit.dev/run-seconds: "0.3"}
spec:
  containers: [{name: main, image: busybox:1.36}]
EOF
check "create a crash-looping pod" kc apply -f "$WORK/crash.yaml"
restarts() { kc get pod crashy -o jsonpath='{.status.containerStatuses[0].restartCount}'; }
restarted_twice() { [ "$(restarts)" -ge 2 ]; }
check "its restartCount grows" wait_for 10 restarted_twice
check_contains "kubectl shows the crash loop" "CrashLoopBackOff" \
	"$(for _ in 1 2 3 4 5 6 7 8 9 10; do kc get pod crashy --no-headers; sleep 0.3; done)"
check_eq "it is never Ready" "False" \
	"$(kc get pod crashy -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"

cat >"$WORK/odd.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: odd
  annotations: {devcluster.knit.dev/ready-delay-seconds: "soon", devcluster.knit.dev/error-rate: "2"}
spec:
  containers: [{name: main, image: busybox:1.36}]
EOF
check "a pod with unparsable behaviour annotations is accepted" kc apply -f "$WORK/odd.yaml"
odd_ready() { [ "$(kc get pod odd -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }
check "it runs with the defaults and gets Ready" wait_for 5 odd_ready
check_contains "the log names the bad annotation" 'annotation=devcluster.knit.dev/ready-delay-seconds value="soon"' \
	"$(cat "$WORK/devcluster.log")"

echo "-- Endpoints and EndpointSlices"
cat >"$WORK/svc.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web, labels: {tier: front}}
spec:
  selector: {app: web, knit.dev/pod-template-hash: a}
  ports: [{name: http, port: 80, targetPort: http}]
EOF
check "create a Service" kc apply -f "$WORK/svc.yaml"
ips_a=$(kc get pods -l knit.dev/pod-template-hash=a -o jsonpath='{.items[*].status.podIP}' | tr ' ' '\n' | sort | tr '\n' ' ')
ep_ips() { kc get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}' | tr ' ' '\n' | sort | tr '\n' ' '; }
ep_is() { [ "$(ep_ips)" = "$1" ]; }
check "Endpoints list the ready pods" wait_for 5 ep_is "$ips_a"
check_eq "the named target port is resolved" "8080" \
	"$(kc get endpoints web -o jsonpath='{.subsets[0].ports[0].port}')"
slice=$(kc get endpointslices -l kubernetes.io/service-name=web -o json)
check_eq "one EndpointSlice, owned by the Service" "1 Service/web" \
	"$(jq -r '"\(.items|length) \(.items[0].metadata.ownerReferences[0].kind)/\(.items[0].metadata.ownerReferences[0].name)"' <<<"$slice")"
check_eq "its endpoints are the same pods, ready" "$ips_a" \
	"$(jq -r '[.items[0].endpoints[] | select(.conditions.ready) | .addresses[0]] | sort | join(" ")' <<<"$slice") "
check_eq "managed-by label" "endpointslice-controller.k8s.io" \
	"$(jq -r '.items[0].metadata.labels["endpointslice.kubernetes.io/managed-by"]' <<<"$slice")"
check "switch the selector to the never-ready pods" \
	kc patch svc web -p '{"spec":{"selector":{"app":"web","knit.dev/pod-template-hash":"b"}}}'
no_ready() { [ -z "$(ep_ips | tr -d ' ')" ] && [ -n "$(kc get endpoints web -o jsonpath='{.subsets[*].notReadyAddresses[*].ip}')" ]; }
check "Endpoints follow: only notReadyAddresses" wait_for 5 no_ready
check_eq "the slice says not ready" "false false" \
	"$(kc get endpointslices -l kubernetes.io/service-name=web -o jsonpath='{.items[0].endpoints[*].conditions.ready}')"
check "switch back" \
	kc patch svc web -p '{"spec":{"selector":{"app":"web","knit.dev/pod-template-hash":"a"}}}'
check "Endpoints follow back" wait_for 5 ep_is "$ips_a"
check "scale web-a to 1" kc scale rs web-a --replicas=1
one_ep() { [ "$(ep_ips | wc -w)" = 1 ]; }
check "a deleted pod leaves the Endpoints" wait_for 5 one_ep
check "delete the Service" kc delete svc web
no_ep() { ! kc get endpoints web >/dev/null 2>&1 && [ -z "$(kc get endpointslices -l kubernetes.io/service-name=web -o name)" ]; }
check "its Endpoints and EndpointSlice go with it" wait_for 5 no_ep

cat >"$WORK/svc2.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: web2}
spec:
  selector: {app: web, knit.dev/pod-template-hash: a}
  ports: [{port: 80, targetPort: 8080}]
EOF
slices2() { kc get endpointslices -l kubernetes.io/service-name=web2 -o json; }
one_slice2() { [ "$(slices2 | jq '.items | length')" = 1 ]; }
check "a second Service gets its slice" kc apply -f "$WORK/svc2.yaml"
check "one slice" wait_for 5 one_slice2
check "delete it orphaning the slice" kc delete svc web2 --cascade=orphan
check "create it again" kc apply -f "$WORK/svc2.yaml"
uid2=$(kc get svc web2 -o jsonpath='{.metadata.uid}')
owned_by_new() { one_slice2 && [ "$(slices2 | jq -r '.items[0].metadata.ownerReferences[0].uid')" = "$uid2" ]; }
check "the orphaned slice is replaced by one owned by the new Service" wait_for 5 owned_by_new
kc delete svc web2 >/dev/null

cat >"$WORK/batch.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: oneshot
  labels: {app: oneshot}
  annotations: {devcluster.knit.dev/run-seconds: "1.5"}
spec:
  restartPolicy: Never
  containers: [{name: main, image: busybox:1.36}]
---
apiVersion: v1
kind: Service
metadata: {name: oneshot}
spec:
  selector: {app: oneshot}
  ports: [{port: 80}]
EOF
check "a Service in front of a pod that runs to completion" kc apply -f "$WORK/batch.yaml"
listed() { [ -n "$(kc get endpoints oneshot -o jsonpath='{.subsets[*].addresses[*].ip}')" ]; }
check "while it runs it is an endpoint" wait_for 5 listed
unlisted() {
	[ "$(kc get pod oneshot -o jsonpath='{.status.phase}')" = Succeeded ] &&
		[ -z "$(kc get endpoints oneshot -o jsonpath='{.subsets}')" ] &&
		[ "$(kc get endpointslices -l kubernetes.io/service-name=oneshot -o jsonpath='{.items[0].endpoints}')" = "[]" ]
}
check "once it completed it leaves the Endpoints and the slice" wait_for 10 unlisted
kc delete -f "$WORK/batch.yaml" >/dev/null

echo "-- graceful pod deletion"
check "a ReplicaSet whose containers take 2 s to stop" \
	kc apply -f <(rs_yaml web-g 2 g '{devcluster.knit.dev/termination-seconds: "2"}')
check "its pods get Ready" wait_for 10 rs_ready_is web-g 2
cat >"$WORK/svcg.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: webg}
spec:
  selector: {app: web, knit.dev/pod-template-hash: g}
  ports: [{port: 80, targetPort: 8080}]
EOF
check "a Service in front of them" kc apply -f "$WORK/svcg.yaml"
two_slice() { [ "$(kc get endpointslices -l kubernetes.io/service-name=webg -o jsonpath='{.items[0].endpoints[*].conditions.ready}')" = "true true" ]; }
check "both are ready endpoints" wait_for 5 two_slice
gpod=$(pods_of g | head -n1)
check "delete one without waiting" kc delete "$gpod" --wait=false
meta=$(kc get "$gpod" -o json | jq -c '[.metadata.deletionGracePeriodSeconds, (.metadata.deletionTimestamp != null)]')
check_eq "it is marked with the default 30 s grace period" "[30,true]" "$meta"
check_contains "kubectl shows it Terminating" "Terminating" "$(kc get "$gpod" --no-headers)"
term_cond() {
	kc get endpointslices -l kubernetes.io/service-name=webg -o json |
		jq -r '[.items[0].endpoints[] | select(.conditions.terminating) | "\(.conditions.ready)/\(.conditions.serving)"] | join(",")'
}
term_listed() { [ "$(term_cond)" = "false/true" ]; }
check "the slice lists it as terminating, not ready, still serving" wait_for 3 term_listed
check_eq "the Endpoints dropped it at once" 1 \
	"$(kc get endpoints webg -o jsonpath='{.subsets[*].addresses[*].ip}' | wc -w)"
check_eq "the ReplicaSet replaces it at once" 2 \
	"$(kc get rs web-g -o jsonpath='{.status.replicas}')"
gone() { ! kc get "$gpod" >/dev/null 2>&1; }
check "the kubelet removes it once its containers stopped" wait_for 6 gone
gpod=$(pods_of g | head -n1)
check "a forced delete with no grace period" kc delete "$gpod" --grace-period=0 --force
check "removes the pod at once" gone
kc delete svc webg >/dev/null
kc delete rs web-g --wait=false >/dev/null

echo "-- Jobs"
cat >"$WORK/jobs.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: ok}
spec:
  completions: 2
  template:
    metadata: {annotations: {devcluster.knit.dev/run-seconds: "0.5"}}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad}
spec:
  backoffLimit: 1
  template:
    metadata:
      annotations: {devcluster.knit.dev/run-seconds: "0.3", devcluster.knit.dev/exit-code: "3"}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36}]
EOF
check "create a succeeding and a failing Job" kc apply -f "$WORK/jobs.yaml"
check "kubectl wait: ok completes" kc wait --for=condition=complete job/ok --timeout=20s
check "kubectl wait: bad fails" kc wait --for=condition=failed job/bad --timeout=20s
ok=$(kc get job ok -o json)
check_eq "ok: succeeded 2, conditions SuccessCriteriaMet then Complete" \
	"2 SuccessCriteriaMet,Complete CompletionsReached" \
	"$(jq -r '"\(.status.succeeded) \([.status.conditions[].type]|join(",")) \(.status.conditions[-1].reason)"' <<<"$ok")"
check "ok: completionTime set" test "$(jq -r .status.completionTime <<<"$ok")" != null
check_eq "ok: selector uses the controller uid" "$(jq -r .metadata.uid <<<"$ok")" \
	"$(jq -r '.spec.selector.matchLabels["batch.kubernetes.io/controller-uid"]' <<<"$ok")"
bad=$(kc get job bad -o json)
check_eq "bad: failed 2, FailureTarget then Failed, BackoffLimitExceeded" \
	"2 FailureTarget,Failed BackoffLimitExceeded" \
	"$(jq -r '"\(.status.failed) \([.status.conditions[].type]|join(",")) \(.status.conditions[-1].reason)"' <<<"$bad")"
check_eq "bad: the real message" "Job has reached the specified backoff limit" \
	"$(jq -r '.status.conditions[-1].message' <<<"$bad")"
check_eq "kubectl shows Complete and Failed" "bad Failed ok Complete" \
	"$(kc get jobs --no-headers | awk '{print $1, $2}' | tr '\n' ' ' | sed 's/ $//')"
check_eq "finished pods show their end" "2 2" \
	"$(kc get pods -l job-name=ok --no-headers | grep -c Completed) $(kc get pods -l job-name=bad --no-headers | grep -c Error)"
cat >"$WORK/slow.yaml" <<EOF
apiVersion: batch/v1
kind: Job
metadata: {name: slow}
spec:
  activeDeadlineSeconds: 2
  template:
    metadata: {annotations: {devcluster.knit.dev/run-seconds: "60"}}
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox:1.36}]
EOF
check "a Job that outlives its deadline" kc apply -f "$WORK/slow.yaml"
check "fails" kc wait --for=condition=failed job/slow --timeout=20s
check_eq "with DeadlineExceeded" "DeadlineExceeded" \
	"$(kc get job slow -o jsonpath='{.status.conditions[-1].reason}')"
no_slow_pods() { [ -z "$(kc get pods -l job-name=slow -o name)" ]; }
check "its running pod is stopped and removed, finalizer and all" wait_for 10 no_slow_pods
check "delete a finished Job" kc delete job ok --wait=true --timeout=10s
no_ok_pods() { [ -z "$(kc get pods -l job-name=ok -o name)" ]; }
check "its pods go with it" wait_for 5 no_ok_pods

echo "-- namespace deletion"
# (kubectl create sends protobuf, which the devcluster does not decode)
check "create a namespace with a ReplicaSet" \
	kc apply -f <(printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n')
check "its ReplicaSet" kc -n scratch apply -f <(rs_yaml tmp 2 t)
two_ready() { [ "$(kc -n scratch get rs tmp -o jsonpath='{.status.readyReplicas}')" = 2 ]; }
check "its pods get Ready" wait_for 10 two_ready
check "delete the namespace" kc delete namespace scratch --timeout=20s
check_eq "nothing of it is left" "" "$(kc get pods,rs -n scratch -o name 2>/dev/null)"

echo "-- restart from the snapshot"
sleep 2.5 # the snapshot is written every 2 s
devcluster_stop
devcluster_start --snapshot "$WORK/snap.json"
check_eq "web-a is still there" "1" "$(ready_count web-a)"
check "scaling still works after the restart" kc scale rs web-a --replicas=2
check "the new pod gets Ready" wait_for 10 rs_ready_is web-a 2
ips=$(kc get pods -o jsonpath='{.items[*].status.podIP}' | tr ' ' '\n' | grep -v '^$' | sort)
check_eq "pod IPs stay unique" "$(echo "$ips" | wc -l)" "$(echo "$ips" | uniq | wc -l)"

finish
