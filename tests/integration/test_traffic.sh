#!/bin/bash
# Simulated traffic as the real Prometheus sees it: two ReplicaSets behind
# one Service, one failing 1% of requests and the other 20%; the error ratio
# by pod_template_hash, the latency histogram, traffic moving when the
# Service selector changes, series vanishing with their pods, and the
# devcluster's own API metrics.
#
# Tolerances: errors are spread evenly (error diffusion), so each series is
# within one request of its configured rate; what remains is rate()'s
# extrapolation over a 10 s window holding about 1,000 requests per hash at
# 200 requests/s, i.e. a few thousandths. The checks allow +-0.005 around 1%
# and +-0.02 around 20%.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/harness.sh

devcluster_start --request-rate 200 --pod-ready-delay 0.5
if prometheus_start; then pass "prometheus scrapes the devcluster"; else
	fail "prometheus scrapes the devcluster"
	finish
	exit 1
fi

rs_yaml() { # NAME HASH ERROR-RATE LATENCY-MS
	cat <<EOF
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: $1}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, knit.dev/pod-template-hash: "$2"}}
  template:
    metadata:
      labels: {app: shop, knit.dev/pod-template-hash: "$2"}
      annotations:
        devcluster.knit.dev/error-rate: "$3"
        devcluster.knit.dev/latency-ms: "$4"
    spec:
      containers: [{name: app, image: shop:$2}]
EOF
}

check "stable ReplicaSet, 1% errors" kc apply -f <(rs_yaml shop-stable s1 0.01 20)
check "canary ReplicaSet, 20% errors" kc apply -f <(rs_yaml shop-canary c2 0.2 200)
cat >"$WORK/svc.yaml" <<EOF
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{port: 80, targetPort: 8080}]
EOF
check "a Service over both" kc apply -f "$WORK/svc.yaml"

series_up() {
	[ "$(promql_value 'count(http_requests_total{service="shop"})')" -ge 6 ]
}
check "per-pod series appear in Prometheus" wait_for 20 series_up
sleep 11 # fill the 10 s rate window

RATIO='sum(rate(http_requests_total{code=~"5.."}[10s])) by (pod_template_hash) / sum(rate(http_requests_total[10s])) by (pod_template_hash)'
ratios=$(promql "$RATIO")
stable=$(jq -r '.data.result[] | select(.metric.pod_template_hash=="s1") | .value[1]' <<<"$ratios")
canary=$(jq -r '.data.result[] | select(.metric.pod_template_hash=="c2") | .value[1]' <<<"$ratios")
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; }
check "stable error ratio $stable is 0.01 +- 0.005" within "$stable" 0.005 0.015
check "canary error ratio $canary is 0.20 +- 0.02" within "$canary" 0.18 0.22

share=$(promql_value 'sum(rate(http_requests_total{pod_template_hash="c2"}[10s])) / sum(rate(http_requests_total{service="shop"}[10s]))')
check "traffic follows the replica ratio (2 of 4 pods: $share)" within "$share" 0.45 0.55
total=$(promql_value 'sum(rate(http_requests_total{service="shop"}[10s]))')
check "the Service receives its configured rate ($total/s)" within "$total" 180 220

p50() { promql_value "histogram_quantile(0.5, sum(rate(http_request_duration_seconds_bucket{pod_template_hash=\"$1\"}[10s])) by (le))"; }
s50=$(p50 s1)
c50=$(p50 c2)
check "stable median latency $s50 s is about 20 ms" within "$s50" 0.01 0.03
check "canary median latency $c50 s is about 200 ms" within "$c50" 0.1 0.3

echo "-- the selector moves all traffic"
check "point the Service at the canary only" kc patch svc shop \
	-p '{"spec":{"selector":{"app":"shop","knit.dev/pod-template-hash":"c2"}}}'
sleep 11
stable_rate=$(promql_value 'sum(rate(http_requests_total{pod_template_hash="s1"}[5s]))')
canary_rate=$(promql_value 'sum(rate(http_requests_total{pod_template_hash="c2"}[5s]))')
check_eq "the stable pods get nothing" "0" "$stable_rate"
check "the canary gets all $canary_rate/s" within "$canary_rate" 180 220

echo "-- counters and series lifetime"
metric() { api GET /metrics | grep -c "^http_requests_total{namespace=\"default\",service=\"shop\",pod=\"shop-stable-"; }
check_eq "stable pods still export their series" 4 "$(metric)"
c1=$(promql_value 'sum(http_requests_total{pod_template_hash="c2"})')
sleep 2
c2=$(promql_value 'sum(http_requests_total{pod_template_hash="c2"})')
check "counters only grow ($c1 -> $c2)" awk -v a="$c1" -v b="$c2" 'BEGIN { exit !(b > a) }'
check "scale the stable ReplicaSet to 0" kc scale rs shop-stable --replicas=0
no_stable() { [ "$(metric)" = 0 ]; }
check "its pods' series leave /metrics" wait_for 5 no_stable
gone_in_prom() { [ -z "$(promql_value 'count(http_requests_total{pod_template_hash="s1"})')" ]; }
check "and go stale in Prometheus" wait_for 5 gone_in_prom

echo "-- the devcluster's own metrics"
check "request counts by verb and resource" test -n \
	"$(promql_value 'sum(apiserver_request_total{verb="PATCH",resource="services",code="200"})')"
check_eq "stored ReplicaSets" "2" \
	"$(promql_value 'apiserver_storage_objects{resource="replicasets.apps"}')"
check_eq "simulated pods ready" "2" \
	"$(promql_value 'knit_devcluster_pods{state="ready"}')"
check "the exposition passes promtool" bash -c \
	"curl -sS --cacert '$CA' -H 'Authorization: Bearer $TOKEN' '$BASE/metrics' | promtool check metrics"

finish
