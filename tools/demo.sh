#!/bin/sh
# make demo: starts knit-devcluster with a snapshot so state survives
# restarts, installs the example CRD and object on first run, and tells you
# how to use it with kubectl. Stop it with Ctrl-C.
set -eu
cd "$(dirname "$0")/.."
DIR=${KNIT_DEMO_DIR:-.knit-devcluster}
PORT=${KNIT_DEMO_PORT:-6443}
mkdir -p "$DIR"
rm -f "$DIR/port"
build/bin/knit-devcluster --port "$PORT" --data-dir "$DIR" --port-file "$DIR/port" \
	--snapshot "$DIR/snapshot.json" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' INT TERM EXIT
for _ in $(seq 1 100); do
	[ -s "$DIR/port" ] && break
	kill -0 $pid 2>/dev/null || { echo "demo: knit-devcluster failed to start"; exit 1; }
	sleep 0.1
done
export KUBECONFIG="$PWD/$DIR/kubeconfig"
if ! kubectl get crd widgets.test.knit.dev >/dev/null 2>&1; then
	kubectl create -f tests/fixtures/widget-crd.yaml
	kubectl apply -f tests/fixtures/widget.yaml
fi
kubectl get widgets -A
cat <<MSG

knit-devcluster is running on https://127.0.0.1:$(cat "$DIR/port")
kubeconfig: $KUBECONFIG

Try, in another terminal:
  export KUBECONFIG=$KUBECONFIG
  kubectl get knit -A
  kubectl get widget demo -o yaml
  kubectl api-resources

State is saved in $DIR/snapshot.json. Press Ctrl-C to stop.
MSG
if [ -n "${KNIT_DEMO_ONESHOT:-}" ]; then
	exit 0
fi
wait $pid
