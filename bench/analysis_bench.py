#!/usr/bin/env python3
"""AnalysisRun benchmark driver (see analysis_bench.sh, which starts
knit-devcluster, Prometheus and knit-controller and passes their
addresses and process ids here).

Phases, each printing result lines:
  create   N AnalysisRuns over NAMESPACES namespaces, 8 client threads,
           as fast as they go (or evenly over SPREAD seconds); each has
           one Prometheus metric: interval 10s, no count,
           successCondition result[0] < 1, query vector(0.01)
  started  until every run is Running (its first measurement recorded)
  steady   WINDOW seconds with nothing else going on: controller CPU
           (utime+stime from /proc/PID/stat) over wall time, VmRSS, the
           devcluster's CPU for context
  jitter   every run read back: for consecutive measurements whose later
           one started inside the window, jitter = startedAt - (previous
           startedAt + 10 s) (the schedule is fixed-rate from the previous
           startedAt, pkg/analysis/run.h); p50/p99/max, the count of
           measurements taken in the window, and Error measurements
  terminate spec.terminate on every run; seconds until all are Successful
The last line is "ANALYSIS_JSON {...}" for scripts. Exit status 0 for a
clean run (all runs started, no Error measurement, all ended Successful);
a missed target is reported but is not a failure.
"""
import datetime
import http.client
import json
import os
import ssl
import sys
import threading
import time
import urllib.request

BASE = os.environ["BASE"]
HOST = BASE.split("//", 1)[1]
TOKEN = open(os.environ["TOKEN_FILE"]).read().strip()
CTX = ssl.create_default_context(cafile=os.environ["CA"])
PROM = os.environ["PROM"]
NAMESPACES = int(os.environ.get("NAMESPACES", "4"))
WINDOW = float(os.environ.get("WINDOW", "100"))
SPREAD = float(os.environ.get("SPREAD", "0"))
INTERVAL = 10.0
TARGET_JITTER_MS = 100.0
TARGET_CPU_PCT = 5.0
LOCAL = threading.local()


def call(method, path, body=None, ctype="application/json"):
    """One API request on this thread's keep-alive connection."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": "Bearer " + TOKEN}
    if data is not None:
        headers["Content-Type"] = ctype
    for attempt in range(2):
        conn = getattr(LOCAL, "conn", None)
        if conn is None:
            conn = http.client.HTTPSConnection(HOST, context=CTX, timeout=60)
            LOCAL.conn = conn
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            LOCAL.conn = None
            if attempt:
                raise
            continue
        if r.status >= 300:
            raise RuntimeError("%s %s: %d %s" % (method, path, r.status,
                                                 text[:300]))
        return json.loads(text or b"{}")


def ns_name(k):
    return "bench-%d" % k


def runs_path(ns):
    return "/apis/knit.dev/v1alpha1/namespaces/%s/analysisruns" % ns


def analysis_run(i):
    ns = ns_name(i % NAMESPACES)
    return ns, {
        "apiVersion": "knit.dev/v1alpha1", "kind": "AnalysisRun",
        "metadata": {"name": "run-%04d" % i, "namespace": ns},
        "spec": {"metrics": [{
            "name": "error-rate",
            "interval": "10s",
            "successCondition": "result[0] < 1",
            "provider": {"prometheus": {"address": PROM,
                                        "query": "vector(0.01)"}}}]}}


def parallel(fn, items, workers=8):
    items = list(items)
    lock = threading.Lock()
    errors = []

    def run():
        while True:
            with lock:
                if not items:
                    return
                it = items.pop()
            try:
                fn(it)
            except Exception as e:  # reported after the join
                with lock:
                    errors.append(str(e))
    ts = [threading.Thread(target=run) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def list_runs():
    out = []
    for k in range(NAMESPACES):
        out.extend(call("GET", runs_path(ns_name(k)))["items"])
    return out


def rfc3339(s):
    """Wall seconds of "2026-11-27T10:00:00.123Z" (or without fraction)."""
    return datetime.datetime.fromisoformat(
        s.replace("Z", "+00:00")).timestamp()


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid, field):
    for line in open("/proc/%d/status" % pid):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def metric_result(run):
    res = run.get("status", {}).get("metricResults") or [{}]
    return res[0]


def measured_count():
    return sum(metric_result(r).get("count", 0) for r in list_runs())


def wait_started(n, timeout):
    """Seconds until all n runs are Running, or None."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        runs = list_runs()
        going = sum(1 for r in runs
                    if r.get("status", {}).get("phase") == "Running")
        if going >= n:
            return time.time() - t0
        time.sleep(0.5)
    return None


def jitter(runs, w0, w1):
    """Jitter (ms) of every consecutive pair whose later measurement
    started in [w0, w1]; also the Error measurements kept and the worst
    pairs (jitter ms, run, start, measurement ms) for the report. With
    JITTER_DUMP set, every pair goes to that file, one line each:
    "start jitter_ms measurement_ms run", by start time."""
    jit, errors, worst = [], [], []
    for r in runs:
        ms = metric_result(r).get("measurements", [])
        for m in ms:
            if m.get("phase") == "Error":
                errors.append("%s: %s" % (r["metadata"]["name"],
                                          m.get("message")))
        starts = [rfc3339(m["startedAt"]) for m in ms]
        took = [rfc3339(m["finishedAt"]) - rfc3339(m["startedAt"])
                if m.get("finishedAt") else 0.0 for m in ms]
        for a, b, d in zip(starts, starts[1:], took[1:]):
            if w0 <= b <= w1:
                j = (b - (a + INTERVAL)) * 1000.0
                jit.append(j)
                worst.append((j, r["metadata"]["name"], b, d * 1000.0))
    if os.environ.get("JITTER_DUMP"):
        with open(os.environ["JITTER_DUMP"], "w") as f:
            for j, name, b, d in sorted(worst, key=lambda w: w[2]):
                f.write("%.3f %.1f %.1f %s\n" % (b, j, d, name))
    worst.sort(reverse=True)
    return jit, errors, worst[:5]


def controller_metric(name):
    url = os.environ["CTRL_METRICS"] + "/metrics"
    total = 0.0
    for line in urllib.request.urlopen(url, timeout=10).read().decode() \
            .splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def hhmmss(t):
    return time.strftime("%H:%M:%S", time.gmtime(t)) + \
        (".%03d" % int((t % 1) * 1000))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ctrl, dc = int(os.environ["CTRL_PID"]), int(os.environ["DC_PID"])
    ok = True
    for k in range(NAMESPACES):
        call("POST", "/api/v1/namespaces", {
            "apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns_name(k)}})

    t0 = time.time()

    def create(i):
        if SPREAD > 0:  # run i is created SPREAD * i / n s after t0
            time.sleep(max(0.0, t0 + SPREAD * i / n - time.time()))
        ns, obj = analysis_run(i)
        call("POST", runs_path(ns), obj)
    errs = parallel(create, range(n - 1, -1, -1))
    print("create: %d AnalysisRuns in %d namespaces in %.1f s, %d refused%s"
          % (n, NAMESPACES, time.time() - t0, len(errs),
             " (first: %s)" % errs[0] if errs else ""))
    took = wait_started(n - len(errs), 120)
    print("started: all %d Running %s after the last create"
          % (n, "%.1f s" % took if took is not None else "NOT within 120 s"))
    if took is None or errs:
        return 1

    # Let the first burst's measurement be re-taken once before the window.
    time.sleep(2)
    w0 = time.time()
    c0, d0 = cpu_s(ctrl), cpu_s(dc)
    m0, k0 = controller_metric("knit_analysis_measurements_total"), \
        measured_count()
    time.sleep(WINDOW)
    w1 = time.time()
    c1, d1 = cpu_s(ctrl), cpu_s(dc)
    m1, k1 = controller_metric("knit_analysis_measurements_total"), \
        measured_count()
    wall = w1 - w0
    cpu_pct = (c1 - c0) / wall * 100.0
    dc_pct = (d1 - d0) / wall * 100.0
    rss = status_kb(ctrl, "VmRSS") / 1024.0
    print("steady: %.1f s window; controller CPU %.2f%% of a core "
          "(%.2f s), VmRSS %.1f MB, VmHWM %.1f MB; devcluster CPU %.1f%% "
          "of a core" % (wall, cpu_pct, c1 - c0, rss,
                         status_kb(ctrl, "VmHWM") / 1024.0, dc_pct))

    runs = list_runs()
    jit, merr, worst = jitter(runs, w0, w1)
    total_err = sum(metric_result(r).get("error", 0) for r in runs)
    per_s = (k1 - k0) / wall
    print("measurements: %d taken in the window (%.1f/s, expected %.1f/s); "
          "controller counter +%d; %d Error measurements since creation"
          % (k1 - k0, per_s, n / INTERVAL, m1 - m0, total_err))
    if merr:
        ok = False
        print("  Error measurements kept, first: %s" % merr[0])
    if not jit:
        print("jitter: no consecutive measurements in the window")
        return 1
    p50, p99, mx, mn = pct(jit, 50), pct(jit, 99), max(jit), min(jit)
    late = sum(1 for j in jit if j > TARGET_JITTER_MS)
    print("jitter: %d pairs: p50 %.0f ms, p99 %.0f ms, max %.0f ms, min %.0f "
          "ms; %d over %.0f ms" % (len(jit), p50, p99, mx, mn, late,
                                    TARGET_JITTER_MS))
    for j, name, b, d in worst:
        print("  worst: %.0f ms %s started %s (measurement took %.0f ms)"
              % (j, name, hhmmss(b), d))
    print("verdict: jitter p99 %.0f ms (target <= %.0f): %s; controller CPU "
          "%.2f%% (target <= %.0f%%): %s"
          % (p99, TARGET_JITTER_MS,
             "met" if p99 <= TARGET_JITTER_MS else "NOT met", cpu_pct,
             TARGET_CPU_PCT, "met" if cpu_pct <= TARGET_CPU_PCT else
             "NOT met"))

    t0 = time.time()
    errs = parallel(lambda r: call(
        "PATCH", runs_path(r["metadata"]["namespace"]) + "/" +
        r["metadata"]["name"], {"spec": {"terminate": True}},
        "application/merge-patch+json"), runs)
    phases = {}
    done_in = None
    while time.time() - t0 < 60:
        phases = {}
        for r in list_runs():
            p = r.get("status", {}).get("phase", "")
            phases[p] = phases.get(p, 0) + 1
        if phases.get("Successful", 0) >= n:
            done_in = time.time() - t0
            break
        time.sleep(0.5)
    print("terminate: %d PATCHes (%d refused); %s; phases %s"
          % (len(runs), len(errs), "all Successful in %.1f s" % done_in
             if done_in is not None else "NOT all Successful in 60 s",
             json.dumps(phases, sort_keys=True)))
    ok = ok and done_in is not None and not errs
    print("ANALYSIS_JSON " + json.dumps({
        "runs": n, "window_s": round(wall, 1),
        "jitter_ms": {"p50": round(p50, 1), "p99": round(p99, 1),
                      "max": round(mx, 1), "pairs": len(jit)},
        "measurements": k1 - k0, "errors": total_err,
        "controller_cpu_pct": round(cpu_pct, 2),
        "controller_rss_mb": round(rss, 1),
        "devcluster_cpu_pct": round(dc_pct, 1),
        "terminated_s": round(done_in, 1) if done_in else None}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
