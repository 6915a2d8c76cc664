#!/bin/bash
# The acceptance flow of issue 2, driven by the real kubectl against a fresh
# knit-devcluster: CRDs, apply (client- and server-side), printer columns,
# watch, patches of every type, edit, describe with Events, finalizers,
# wait, api-resources, and the real error messages.
. "$(dirname "$0")/../lib/harness.sh"
FIX=tests/fixtures
devcluster_start

check "create CRD from a file" kc create -f $FIX/widget-crd.yaml
check "api-resources lists the CRD" bash -c "kubectl --cache-dir $WORK/kcache api-resources | grep -E '^widgets +wd +test.knit.dev/v1 +true +Widget'"

out=$(kc apply -f $FIX/widget.yaml 2>&1)
check_eq "apply creates the custom resource" "widget.test.knit.dev/demo created" "$out"
out=$(sed 's/replicas: 2/replicas: 3/' $FIX/widget.yaml | kc apply -f - 2>&1)
check_eq "apply again configures it" "widget.test.knit.dev/demo configured" "$out"
check_eq "the change is stored" "3" "$(kc get widget demo -o jsonpath='{.spec.replicas}')"
check_eq "generation moved with the spec" "2" "$(kc get widget demo -o jsonpath='{.metadata.generation}')"

out=$(kc apply --server-side --force-conflicts -f $FIX/widget.yaml 2>&1)
check_eq "apply --server-side" "widget.test.knit.dev/demo serverside-applied" "$out"
check_eq "server-side apply set replicas" "2" "$(kc get widget demo -o jsonpath='{.spec.replicas}')"
mf=$(kc get widget demo -o json --show-managed-fields | jq -r '[.metadata.managedFields[].manager] | sort | join(",")')
check_contains "managedFields record the kubectl manager" "kubectl" "$mf"

out=$(kc create -f - <<'YAML' 2>&1
apiVersion: test.knit.dev/v1
kind: Widget
metadata:
  name: other
  namespace: kube-system
spec:
  image: busybox
YAML
)
check_contains "create in another namespace" "created" "$out"
out=$(kc get wd -A 2>&1)
check_contains "get -A shows printer columns" "NAMESPACE     NAME    REPLICAS   PHASE   AGE" "$out"
check_contains "get -A shows the default replicas" "kube-system   other   1" "$out"
out=$(kc get knit 2>&1)
check_contains "the knit category lists widgets" "demo" "$out"

out=$(kc get widget demo -o yaml)
check_contains "get -o yaml" "image: nginx:1.25" "$out"
check_contains "get -o yaml has a uid" "uid: " "$out"

kc get widget demo -w --request-timeout=8s >"$WORK/watch.out" 2>&1 &
wpid=$!
sleep 1
check "patch --type=merge" kc patch widget demo --type=merge -p '{"spec":{"mode":"fast"}}'
sleep 1
kill $wpid 2>/dev/null
wait $wpid 2>/dev/null
check_eq "get -w sees the change" "2" "$(grep -c '^demo' "$WORK/watch.out")"

check "patch --type=json" kc patch widget demo --type=json -p '[{"op":"replace","path":"/spec/replicas","value":4}]'
check_eq "json patch applied" "4" "$(kc get widget demo -o jsonpath='{.spec.replicas}')"
gen=$(kc get widget demo -o jsonpath='{.metadata.generation}')
check "patch --subresource=status" kc patch widget demo --subresource=status --type=merge -p '{"status":{"phase":"Running","replicas":4,"conditions":[{"type":"Ready","status":"True"}]}}'
check_eq "status written" "Running" "$(kc get widget demo -o jsonpath='{.status.phase}')"
check_eq "status write leaves generation" "$gen" "$(kc get widget demo -o jsonpath='{.metadata.generation}')"
out=$(kc get widget demo)
check_contains "Phase column shows status" "Running" "$out"

out=$(kc patch widget demo -p '{"spec":{"mode":"safe"}}' 2>&1)
check_contains "strategic patch of a CR gives the real 415 message" "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml" "$out"

cat >"$WORK/editor.sh" <<'SH'
#!/bin/sh
sed -i 's/image: nginx:1.25/image: nginx:1.27/' "$1"
SH
chmod +x "$WORK/editor.sh"
out=$(KUBE_EDITOR="$WORK/editor.sh" kc edit widget demo 2>&1)
check_eq "edit through KUBE_EDITOR" "widget.test.knit.dev/demo edited" "$out"
check_eq "edit stored" "nginx:1.27" "$(kc get widget demo -o jsonpath='{.spec.image}')"

check "kubectl wait --for=condition=Ready" kc wait --for=condition=Ready widget/demo --timeout=10s
check "kubectl scale through the scale subresource" kc scale widget demo --replicas=6
check_eq "scale stored" "6" "$(kc get widget demo -o jsonpath='{.spec.replicas}')"

uid=$(kc get widget demo -o jsonpath='{.metadata.uid}')
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ev=$(cat <<JSON
{"apiVersion":"v1","kind":"Event","metadata":{"name":"demo.17a1","namespace":"default"},
 "involvedObject":{"apiVersion":"test.knit.dev/v1","kind":"Widget","name":"demo","namespace":"default","uid":"$uid"},
 "reason":"Progressing","message":"canary at 20%","type":"Normal","count":3,
 "firstTimestamp":"$now","lastTimestamp":"$now","source":{"component":"knit-controller"}}
JSON
)
r=$(api POST /api/v1/namespaces/default/events "$ev")
check_eq "an Event can be recorded" "201" "$(code_of "$r")"
out=$(kc describe widget demo 2>&1)
check_contains "describe lists the object's Events" "Progressing" "$out"
check_contains "describe shows the source" "knit-controller" "$out"

out=$(cat <<'YAML' | kc apply -f - 2>&1
apiVersion: test.knit.dev/v1
kind: Widget
metadata:
  name: pruned
spec:
  image: nginx
  colour: red
YAML
)
check_contains "apply with an unknown field is refused (strict by default)" 'unknown field "spec.colour"' "$out"
out=$(cat <<'YAML' | kc apply --validate=false -f - 2>&1
apiVersion: test.knit.dev/v1
kind: Widget
metadata:
  name: pruned
spec:
  image: nginx
  colour: red
YAML
)
check_contains "with --validate=false it is created" "created" "$out"
check_eq "and the unknown field is pruned" "" "$(kc get widget pruned -o jsonpath='{.spec.colour}')"
out=$(cat <<'YAML' | kc create --validate=strict -f - 2>&1
apiVersion: test.knit.dev/v1
kind: Widget
metadata:
  name: strict
spec:
  image: nginx
  colour: red
YAML
)
check_contains "--validate=strict refuses with the real message" 'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.colour"' "$out"

out=$(cat <<'YAML' | kc apply -f - 2>&1
apiVersion: test.knit.dev/v1
kind: Widget
metadata:
  name: bad
spec:
  image: nginx
  replicas: -1
YAML
)
check_contains "schema violation gives 422 with the field" 'spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0' "$out"

check "add a finalizer" kc patch widget demo --type=merge -p '{"metadata":{"finalizers":["test.knit.dev/hold"]}}'
kc delete widget demo --timeout=30s >"$WORK/delete.out" 2>&1 &
dpid=$!
sleep 1.5
check "delete waits while the finalizer is present" kill -0 $dpid
check "the object is marked for deletion" bash -c "kubectl --cache-dir $WORK/kcache get widget demo -o jsonpath='{.metadata.deletionTimestamp}' | grep -q T"
check "remove the finalizer" kc patch widget demo --type=json -p '[{"op":"remove","path":"/metadata/finalizers"}]'
wait $dpid
check_eq "delete completes once the finalizer is gone" "0" "$?"
check_contains "delete reports it" 'widget.test.knit.dev "demo" deleted' "$(cat "$WORK/delete.out")"
out=$(kc get widget demo 2>&1)
check_contains "the object is gone" 'widgets.test.knit.dev "demo" not found' "$out"

check "delete the CRD" kc delete crd widgets.test.knit.dev --timeout=30s
out=$(kc get widgets -A 2>&1)
check "its resource is no longer served" grep -Eq "doesn't have a resource type|could not find the requested resource" <<<"$out"

# An apply that creates the object records an Apply entry, so the same
# manager applying again owns its fields and does not conflict with itself.
cm='apiVersion: v1
kind: ConfigMap
metadata: {name: ssa-twice}
data: {a: "1"}'
out=$(echo "$cm" | kc apply --server-side -f - 2>&1)
check_eq "server-side apply creates a ConfigMap" "configmap/ssa-twice serverside-applied" "$out"
check_eq "the creating apply is recorded as operation Apply" "kubectl Apply" \
	"$(kc get cm ssa-twice -o jsonpath='{.metadata.managedFields[0].manager} {.metadata.managedFields[0].operation}')"
out=$(echo "$cm" | sed 's/"1"/"2"/' | kc apply --server-side -f - 2>&1)
check_eq "the same manager applies again without conflict" "configmap/ssa-twice serverside-applied" "$out"
check_eq "and its value is set" "2" "$(kc get cm ssa-twice -o jsonpath='{.data.a}')"

finish
