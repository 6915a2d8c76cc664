#!/bin/bash
# API-level semantics of knit-devcluster over HTTPS with curl: conflicts,
# generation, the status subresource, watch resume and 410, pagination,
# selectors, garbage collection, finalizers, dry run, discovery and Events.
. "$(dirname "$0")/../lib/harness.sh"
devcluster_start --watch-history 50

CM=/api/v1/namespaces/default/configmaps
cm() { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","labels":{"tier":"%s"}},"data":{"k":"%s"}}' "$1" "$2" "$3"; }

r=$(api GET /version)
check_eq "version is 1.32" "1.32" "$(body_of "$r" | jq -r '.major + "." + .minor')"
r=$(curl -sS --cacert "$CA" -w '\n%{http_code}' "$BASE/api/v1/namespaces")
check_eq "no token: 401" "401" "$(code_of "$r")"
check_eq "401 is a Status" "Unauthorized" "$(body_of "$r" | jq -r .reason)"

# discovery
ct=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -o /dev/null -w '%{content_type}' \
	-H 'Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' "$BASE/apis")
check_eq "aggregated discovery content type" "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" "$ct"
r=$(api GET /apis/apps/v1)
check_eq "legacy group-version discovery" "true" "$(body_of "$r" | jq '[.resources[].name] | index("deployments/scale") != null')"

# create, conflict, generation
r=$(api POST $CM "$(cm one a 1)")
check_eq "create answers 201" "201" "$(code_of "$r")"
rv1=$(body_of "$r" | jq -r .metadata.resourceVersion)
r=$(api POST $CM "$(cm one a 1)")
check_eq "duplicate create: 409 AlreadyExists" "409 AlreadyExists" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
check_eq "AlreadyExists message" 'configmaps "one" already exists' "$(body_of "$r" | jq -r .message)"
upd=$(cm one a 2 | jq --arg rv "$rv1" '.metadata.resourceVersion=$rv')
r=$(api PUT $CM/one "$upd")
check_eq "PUT with the current RV" "200" "$(code_of "$r")"
r=$(api PUT $CM/one "$upd")
check_eq "PUT with a stale RV: 409 Conflict" "409 Conflict" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
check_contains "Conflict message" 'Operation cannot be fulfilled on configmaps "one": the object has been modified' "$(body_of "$r" | jq -r .message)"
r=$(api PATCH $CM/one '{"metadata":{"resourceVersion":"1"},"data":{"k":"3"}}' application/merge-patch+json)
check_eq "PATCH with a stale RV precondition: 409" "409" "$(code_of "$r")"
r=$(api GET $CM/missing)
check_eq "missing object: 404 with message" '404 configmaps "missing" not found' "$(code_of "$r") $(body_of "$r" | jq -r .message)"
r=$(api POST /api/v1/namespaces/nope/configmaps "$(cm x a 1)")
check_eq "missing namespace: 404" '404 namespaces "nope" not found' "$(code_of "$r") $(body_of "$r" | jq -r .message)"
r=$(api POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}')
check_eq "invalid name: 422 Invalid" "422 Invalid" "$(code_of "$r") $(body_of "$r" | jq -r .reason)"
check_eq "cause names the field" "metadata.name" "$(body_of "$r" | jq -r '.details.causes[0].field')"
r=$(api POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"generateName":"gen-"}}')
check "generateName appends 5 characters" grep -Eq '^gen-[a-z0-9]{5}$' <<<"$(body_of "$r" | jq -r .metadata.name)"
r=$(api POST "$CM?dryRun=All" "$(cm dry a 1)")
check_eq "dry run answers 201" "201" "$(code_of "$r")"
check_eq "dry run stores nothing" "404" "$(code_of "$(api GET $CM/dry)")"

# deployments: generation only on spec changes, status subresource
DEP=/apis/apps/v1/namespaces/default/deployments
dep='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web"},"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}}}}'
r=$(api POST $DEP "$dep")
check_eq "deployment created with generation 1" "201 1" "$(code_of "$r") $(body_of "$r" | jq -r .metadata.generation)"
check_eq "deployment defaults applied" "RollingUpdate" "$(body_of "$r" | jq -r .spec.strategy.type)"
r=$(api PATCH $DEP/web '{"metadata":{"labels":{"x":"y"}}}' application/merge-patch+json)
check_eq "metadata change keeps generation" "1" "$(body_of "$r" | jq -r .metadata.generation)"
r=$(api PATCH $DEP/web/status '{"status":{"replicas":2},"spec":{"replicas":9}}' application/merge-patch+json)
check_eq "status write ignores spec" "2 2 1" "$(body_of "$r" | jq -r '"\(.spec.replicas) \(.status.replicas) \(.metadata.generation)"')"
r=$(api PATCH $DEP/web '{"spec":{"replicas":3},"status":{"replicas":7}}' application/merge-patch+json)
check_eq "spec write bumps generation and ignores status" "3 2 2" "$(body_of "$r" | jq -r '"\(.spec.replicas) \(.status.replicas) \(.metadata.generation)"')"
r=$(api PATCH $DEP/web '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}' application/strategic-merge-patch+json)
check_eq "strategic merge patch on a built-in" "nginx:1.27" "$(body_of "$r" | jq -r '.spec.template.spec.containers[0].image')"
bad=$(printf '%s' "$dep" | jq '.metadata.name="bad" | .spec.template.metadata.labels.app="other"')
r=$(api POST $DEP "$bad")
check_contains "selector must match template labels" '`selector` does not match template `labels`' "$(body_of "$r" | jq -r .message)"

# list: pagination and selectors
for i in 1 2 3 4 5; do api POST $CM "$(cm page$i $([ $i -le 2 ] && echo front || echo back) $i)" >/dev/null; done
r=$(api GET "$CM?limit=2")
tok=$(body_of "$r" | jq -r .metadata.continue)
check_eq "limit=2 gives 2 items" "2" "$(body_of "$r" | jq '.items | length')"
check "a continue token is returned" test -n "$tok" -a "$tok" != null
api POST $CM "$(cm zz-late back 9)" >/dev/null
r=$(api GET "$CM?limit=100&continue=$tok")
names=$(body_of "$r" | jq -r '[.items[].metadata.name] | join(",")')
check_not_contains "the next page is the snapshot of the first (no later object)" "zz-late" "$names"
check_contains "the next page continues after the first" "page5" "$names"
r=$(api GET "$CM?labelSelector=tier%3Dfront")
check_eq "labelSelector =" "page1,page2" "$(body_of "$r" | jq -r '[.items[].metadata.name] | join(",")')"
r=$(api GET "$CM?labelSelector=tier+in+(front,back),tier!=back")
check_eq "labelSelector in and !=" "page1,page2" "$(body_of "$r" | jq -r '[.items[].metadata.name] | join(",")')"
r=$(api GET "$CM?labelSelector=tier+in+front")
check_eq "bad labelSelector: 400" "400" "$(code_of "$r")"
r=$(api GET "$CM?fieldSelector=metadata.name%3Dpage3")
check_eq "fieldSelector metadata.name" "page3" "$(body_of "$r" | jq -r '[.items[].metadata.name] | join(",")')"
r=$(api GET "$CM?fieldSelector=spec.foo%3Dx")
check_eq "unsupported field: 400" "400 field label not supported: spec.foo" "$(code_of "$r") $(body_of "$r" | jq -r .message)"
r=$(api GET "/api/v1/namespaces/default/pods" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io')
r=$(curl -sS --cacert "$CA" -H "Authorization: Bearer $TOKEN" -H 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json' "$BASE$CM")
check_eq "Table output for built-ins" "Table Name,Data,Age" "$(printf '%s' "$r" | jq -r '.kind + " " + ([.columnDefinitions[].name] | join(","))')"

# watch: resume, selector transitions, 410
rv=$(body_of "$(api GET $CM)" | jq -r .metadata.resourceVersion)
curl -s -N --max-time 3 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
	"$BASE$CM?watch=true&resourceVersion=$rv&labelSelector=tier%3Dfront" >"$WORK/w1" &
wp=$!
sleep 0.5
api PATCH $CM/page3 '{"metadata":{"labels":{"tier":"front"}}}' application/merge-patch+json >/dev/null
api PATCH $CM/page1 '{"metadata":{"labels":{"tier":"back"}}}' application/merge-patch+json >/dev/null
api PATCH $CM/page2 '{"data":{"k":"22"}}' application/merge-patch+json >/dev/null
wait $wp
check_eq "selector watch: entering is ADDED, leaving DELETED" "ADDED:page3 DELETED:page1 MODIFIED:page2" \
	"$(jq -r '.type + ":" + .object.metadata.name' "$WORK/w1" | tr '\n' ' ' | sed 's/ $//')"
curl -s -N --max-time 3 --cacert "$CA" -H "Authorization: Bearer $TOKEN" \
	"$BASE$CM?watch=true&resourceVersion=$rv" >"$WORK/w2"
check_eq "watch resumes from a resourceVersion" "MODIFIED MODIFIED MODIFIED" "$(jq -r .type "$WORK/w2" | tr '\n' ' ' | sed 's/ $//')"
for i in $(seq 1 60); do api PATCH $CM/page4 "{\"data\":{\"k\":\"$i\"}}" application/merge-patch+json >/dev/null; done
out=$(curl -s -N --max-time 3 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&resourceVersion=$rv")
check_eq "a too old resourceVersion gives ERROR 410 Expired" "ERROR 410 Expired" "$(printf '%s' "$out" | jq -r '"\(.type) \(.object.code) \(.object.reason)"')"
r=$(api GET "$CM?limit=100&continue=$tok")
check_eq "an expired continue token: 410" "410" "$(code_of "$r")"
start=$(date +%s)
curl -s -N --max-time 10 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&timeoutSeconds=1" >/dev/null
check "timeoutSeconds ends the watch" test $(($(date +%s) - start)) -le 3
out=$(curl -s -N --max-time 2 --cacert "$CA" -H "Authorization: Bearer $TOKEN" "$BASE$CM?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true" | tail -n1)
check_eq "sendInitialEvents ends with the initial-events-end bookmark" "BOOKMARK true" \
	"$(printf '%s' "$out" | jq -r '.type + " " + .object.metadata.annotations["k8s.io/initial-events-end"]')"

# garbage collection and finalizers
owner=$(body_of "$(api POST $CM "$(cm owner a 1)")")
ouid=$(printf '%s' "$owner" | jq -r .metadata.uid)
child() { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"%s","blockOwnerDeletion":true}]}}' "$1" "$ouid"; }
api POST $CM "$(child child1)" >/dev/null
r=$(api DELETE $CM/owner '{"propagationPolicy":"Background"}')
check_eq "background delete answers Success" "200 Success" "$(code_of "$r") $(body_of "$r" | jq -r .status)"
sleep 0.6
check_eq "background GC removes the dependent" "404" "$(code_of "$(api GET $CM/child1)")"
check_eq "a dependent of an owner that never existed is created" "201" \
	"$(code_of "$(api POST $CM "$(child dangling)")")"
dangling_gone() { [ "$(code_of "$(api GET $CM/dangling)")" = 404 ]; }
check "and collected (within the 5 s owner check)" wait_for 8 dangling_gone

owner=$(body_of "$(api POST $CM "$(cm owner a 1)")")
ouid=$(printf '%s' "$owner" | jq -r .metadata.uid)
api POST $CM "$(child child2)" >/dev/null
r=$(api DELETE $CM/owner '{"propagationPolicy":"Orphan"}')
sleep 0.6
check_eq "orphan delete removes the owner" "404" "$(code_of "$(api GET $CM/owner)")"
check_eq "orphan delete keeps the dependent without ownerReferences" "200 null" \
	"$(r=$(api GET $CM/child2); echo "$(code_of "$r") $(body_of "$r" | jq -c .metadata.ownerReferences)")"

owner=$(body_of "$(api POST $CM "$(cm owner a 1)")")
ouid=$(printf '%s' "$owner" | jq -r .metadata.uid)
api POST $CM "$(child child3)" >/dev/null
r=$(api DELETE $CM/owner '{"propagationPolicy":"Foreground"}')
check_eq "foreground delete marks the owner" "foregroundDeletion" "$(body_of "$r" | jq -r '.metadata.finalizers[0]')"
sleep 0.8
check_eq "foreground delete removes dependent then owner" "404 404" "$(code_of "$(api GET $CM/child3)") $(code_of "$(api GET $CM/owner)")"

api POST $CM '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","finalizers":["test/hold"]}}' >/dev/null
r=$(api DELETE $CM/held)
check_eq "delete with a finalizer answers the object" "200 true" "$(code_of "$r") $(body_of "$r" | jq '.metadata.deletionTimestamp != null')"
r=$(api PATCH $CM/held '{"metadata":{"finalizers":["test/hold","test/new"]}}' application/merge-patch+json)
check_eq "no new finalizers while deleting: 422" "422" "$(code_of "$r")"
r=$(api DELETE $CM/held '{"preconditions":{"uid":"wrong"}}')
check_eq "delete precondition mismatch: 409" "409" "$(code_of "$r")"
api PATCH $CM/held '{"metadata":{"finalizers":null}}' application/merge-patch+json >/dev/null
check_eq "removing the last finalizer deletes" "404" "$(code_of "$(api GET $CM/held)")"

# namespaces
r=$(api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"scratch"}}')
check_eq "namespace created Active" "201 Active" "$(code_of "$r") $(body_of "$r" | jq -r .status.phase)"
api POST /api/v1/namespaces/scratch/configmaps "$(cm inner a 1)" >/dev/null
r=$(api DELETE /api/v1/namespaces/scratch)
check_eq "namespace deletion starts Terminating" "Terminating" "$(body_of "$r" | jq -r .status.phase)"
sleep 0.8
check_eq "a deleted namespace takes its content with it" "404 404" \
	"$(code_of "$(api GET /api/v1/namespaces/scratch/configmaps/inner)") $(code_of "$(api GET /api/v1/namespaces/scratch)")"

# events: one store, two views
ev='{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"e1"},"eventTime":"2026-11-27T10:00:00.000000Z","reason":"Started","note":"hello","type":"Normal","action":"Start","reportingController":"knit","reportingInstance":"knit-1","regarding":{"kind":"ConfigMap","name":"one","namespace":"default"}}'
r=$(api POST /apis/events.k8s.io/v1/namespaces/default/events "$ev")
check_eq "events.k8s.io/v1 create" "201" "$(code_of "$r")"
r=$(api GET "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Done,reason%3DStarted")
check_eq "the same Event in core/v1 with fieldSelector" "hello ConfigMap" "$(body_of "$r" | jq -r '.items[0].message + " " + .items[0].involvedObject.kind')"
r=$(api PATCH /api/v1/namespaces/default/events/e1 '{"count":2,"message":"again"}' application/strategic-merge-patch+json)
check_eq "recorders patch Events with strategic merge" "200 again" "$(code_of "$r") $(body_of "$r" | jq -r .message)"

# leases: MicroTime round trip
lease='{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"knit"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15,"acquireTime":"2026-11-27T10:00:00.123456Z","renewTime":"2026-11-27T10:00:00.123456Z"}}'
r=$(api POST /apis/coordination.k8s.io/v1/namespaces/default/leases "$lease")
check_eq "Lease MicroTime round-trips" "2026-11-27T10:00:00.123456Z" "$(body_of "$r" | jq -r .spec.renewTime)"

# The all-namespaces path of a namespaced resource serves only reads.
r=$(api POST /api/v1/configmaps '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"default"}}')
check_eq "POST to the all-namespaces collection is 405 MethodNotAllowed" "405 MethodNotAllowed" \
	"$(code_of "$r") $(body_of "$r" | jq -r .reason)"

finish
