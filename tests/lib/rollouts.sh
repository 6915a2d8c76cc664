# Helpers shared by the tests that drive Rollouts with kubectl (source
# after harness.sh; they use its kc and api).

# ro NS NAME JQ: a field of the Rollout, through kubectl.
ro() { kc -n "$1" get rollout.knit.dev "$2" -o json | jq -r "$3"; }
phase_is() { [ "$(ro "$1" "$2" '.status.phase')" = "$3" ]; }
step_is() { [ "$(ro "$1" "$2" '.status.currentStepIndex')" = "$3" ]; }
# new_ns NAME (kubectl create namespace sends protobuf, which
# knit-devcluster does not speak yet: see docs/devcluster.md)
new_ns() { api POST /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" >/dev/null; }
# service NS NAME APP: a Service selecting app=APP.
service() {
	kc -n "$1" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata: {name: $2}
spec:
  selector: {app: $3}
  ports: [{port: 80, targetPort: 8080}]
EOF
}
# events_of NS NAME: the Events about object NAME, as a List.
events_of() { kc -n "$1" get events --field-selector "involvedObject.name=$2" -o json; }
