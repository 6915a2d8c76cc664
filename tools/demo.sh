#!/bin/bash
# make demo: starts knit-devcluster (with a snapshot, so state survives
# restarts) and a real Prometheus scraping it, deploys the sample "shop"
# (examples/devcluster/shop.yaml: a Service over a stable and a canary
# ReplicaSet), waits until Prometheus sees their traffic and prints the
# PromQL that compares their error rates. Stop it with Ctrl-C.
#
# KNIT_DEMO_DIR (default .knit-devcluster), KNIT_DEMO_PORT (6443) and
# KNIT_DEMO_PROM_PORT (9090) choose where; KNIT_DEMO_ONESHOT=1 exits after
# the first answer (non-zero when there was none), for smoke tests.
set -eu
cd "$(dirname "$0")/.."
DIR=${KNIT_DEMO_DIR:-.knit-devcluster}
PORT=${KNIT_DEMO_PORT:-6443}
PROM_PORT=${KNIT_DEMO_PROM_PORT:-9090}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
rm -f "$DIR/port"
pids=""
stop() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
}
trap stop INT TERM EXIT

build/bin/knit-devcluster --port "$PORT" --data-dir "$DIR" --port-file "$DIR/port" \
	--snapshot "$DIR/snapshot.json" 2>"$DIR/devcluster.log" &
dc=$!
pids="$dc"
for _ in $(seq 1 100); do
	[ -s "$DIR/port" ] && break
	kill -0 $dc 2>/dev/null || { echo "demo: knit-devcluster failed to start:"; cat "$DIR/devcluster.log"; exit 1; }
	sleep 0.1
done
export KUBECONFIG="$DIR/kubeconfig"

tr -d '\n' <"$DIR/token" >"$DIR/prometheus.token"
cat >"$DIR/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: knit-devcluster
    scheme: https
    tls_config: {ca_file: "$DIR/ca.crt"}
    authorization: {credentials_file: "$DIR/prometheus.token"}
    static_configs: [{targets: ["127.0.0.1:$PORT"]}]
EOF
prometheus --config.file="$DIR/prometheus.yml" --storage.tsdb.path="$DIR/prometheus" \
	--web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn 2>"$DIR/prometheus.log" &
pids="$pids $!"

kubectl apply -f examples/devcluster/shop.yaml
kubectl wait rs/shop-stable --for=jsonpath='{.status.readyReplicas}'=3 --timeout=30s >/dev/null
kubectl wait rs/shop-canary --for=jsonpath='{.status.readyReplicas}'=1 --timeout=30s >/dev/null
kubectl get pods -l app=shop -o wide

QUERY='sum(rate(http_requests_total{service="shop",code=~"5.."}[30s])) by (pod_template_hash) / sum(rate(http_requests_total{service="shop"}[30s])) by (pod_template_hash)'
ask() {
	curl -s --data-urlencode "query=$QUERY" "http://127.0.0.1:$PROM_PORT/api/v1/query" |
		jq -r '.data.result[]? | "  \(.metric.pod_template_hash): \(.value[1] | tonumber * 1000 | round / 10)% of requests fail"' 2>/dev/null || true
}
answer=""
echo
echo "waiting for Prometheus to collect 15 s of traffic..."
for _ in $(seq 1 60); do
	answer=$(ask)
	[ "$(printf '%s' "$answer" | grep -c fail)" = 2 ] && break
	sleep 0.5
done
[ -n "$answer" ] && sleep 15 && answer=$(ask)
cat <<MSG

knit-devcluster: https://127.0.0.1:$PORT   (kubeconfig: $KUBECONFIG)
Prometheus:      http://127.0.0.1:$PROM_PORT

The shop's error rate by version, from Prometheus:
  $QUERY
${answer:-  (no answer yet; see $DIR/prometheus.log)}

Try, in another terminal:
  export KUBECONFIG=$KUBECONFIG
  kubectl get pods,rs,endpoints -l app=shop
  kubectl scale rs shop-canary --replicas=3      # the canary takes more traffic
  curl -s 'http://127.0.0.1:$PROM_PORT/api/v1/query' --data-urlencode 'query=sum(rate(http_requests_total[30s])) by (pod_template_hash)'

State is saved in $DIR/snapshot.json. Press Ctrl-C to stop.
MSG
if [ -n "${KNIT_DEMO_ONESHOT:-}" ]; then
	[ -n "$answer" ]
	exit
fi
wait $dc
