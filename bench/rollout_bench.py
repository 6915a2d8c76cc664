#!/usr/bin/env python3
"""Rollout controller benchmark driver (see rollout_bench.sh, which starts
knit-devcluster and passes its address, CA and token here).

Phases, each printing one result line:
  populate  N Rollouts of 2 replicas (rolling update) created over the API
  settle    start knit-controller, wait until all N are Healthy
  memory    the controller's resident memory (VmRSS) once settled
  idle      API calls and CPU of the controller over 10 s with nothing to do
  latency   100 single spec changes (SINGLE_CHANGES), one at a time, each
            Rollout back to Healthy before the next: time from sending the
            PATCH to the new ReplicaSet's ADDED event on a watch (p50/p99)
  bump-all  a version bump of all N at once: time until all are Healthy on
            the new revision, and API calls made
  throttled the same with --qps Q --burst B: time versus calls/Q (the bound
            the client-side limiter imposes)
The controller binary and its flags come from the environment
(CONTROLLER, KUBECONFIG); results are plain text on stdout.
"""
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

BASE = os.environ["BASE"]
TOKEN = open(os.environ["TOKEN_FILE"]).read().strip()
CTX = ssl.create_default_context(cafile=os.environ["CA"])
NS = "bench"
GROUP = "/apis/knit.dev/v1alpha1/namespaces/%s/rollouts" % NS


def call(method, path, body=None, ctype="application/json"):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + TOKEN)
    if data is not None:
        req.add_header("Content-Type", ctype)
    with urllib.request.urlopen(req, context=CTX, timeout=60) as r:
        return json.loads(r.read() or b"{}")


def rollout(i, image):
    return {
        "apiVersion": "knit.dev/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "app-%04d" % i, "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "app-%04d" % i}},
            "template": {
                "metadata": {"labels": {"app": "app-%04d" % i}},
                "spec": {"containers": [{"name": "app", "image": image}]}},
            "strategy": {"rollingUpdate": {"maxSurge": 1,
                                           "maxUnavailable": 0}}}}


def parallel(fn, items, workers=8):
    items = list(items)
    lock = threading.Lock()

    def run():
        while True:
            with lock:
                if not items:
                    return
                it = items.pop()
            fn(it)
    ts = [threading.Thread(target=run) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


class RolloutWatch(threading.Thread):
    """Keeps, per Rollout, whether it is Healthy on its spec's revision
    and the image it runs, from one watch (listing all N every poll would
    load the server more than the controller does)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.state = {}
        self.lock = threading.Lock()

    def run(self):
        while True:
            lst = call("GET", GROUP)
            with self.lock:
                for o in lst["items"]:
                    self.note(o)
            rv = lst["metadata"]["resourceVersion"]
            req = urllib.request.Request(
                BASE + GROUP + "?watch=true&resourceVersion=" + rv)
            req.add_header("Authorization", "Bearer " + TOKEN)
            try:
                with urllib.request.urlopen(req, context=CTX,
                                            timeout=3600) as r:
                    for line in r:
                        ev = json.loads(line)
                        if ev["type"] in ("ADDED", "MODIFIED"):
                            with self.lock:
                                self.note(ev["object"])
            except Exception:
                time.sleep(0.2)

    def note(self, o):
        st = o.get("status", {})
        img = o["spec"]["template"]["spec"]["containers"][0]["image"]
        ok = (st.get("phase") == "Healthy"
              and st.get("stableRS") == st.get("currentPodHash")
              and st.get("observedGeneration") ==
              o["metadata"].get("generation"))
        self.state[o["metadata"]["name"]] = (ok, img)

    def healthy_on(self, image_suffix):
        with self.lock:
            return sum(1 for ok, img in self.state.values()
                       if ok and img.endswith(image_suffix))


ROLLOUTS = RolloutWatch()


def wait_healthy(image_suffix, n, timeout, t0=None):
    """Seconds from t0 (default: now) until all n are Healthy."""
    t0 = t0 or time.time()
    while time.time() - t0 < timeout:
        if ROLLOUTS.healthy_on(image_suffix) >= n:
            return time.time() - t0
        time.sleep(0.1)
    return None


def metrics(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=10).read()
    calls = 0.0
    for line in text.decode().splitlines():
        if line.startswith("knit_api_requests_total"):
            calls += float(line.rsplit(" ", 1)[1])
    return calls


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def start_controller(extra):
    mport, hport = os.environ["MPORT"], os.environ["HPORT"]
    args = [os.environ["CONTROLLER"], "--kubeconfig", os.environ["KUBECONFIG"],
            "--leader-elect=false", "--namespace", NS,
            "--metrics-address", "127.0.0.1:" + mport,
            "--health-address", "127.0.0.1:" + hport,
            "--log-level", "warn"] + extra
    p = subprocess.Popen(args, stdout=open(os.environ["LOG"], "a"),
                         stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:" + hport
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/readyz", timeout=1)
            break
        except Exception:
            time.sleep(0.1)
    return p, "http://127.0.0.1:" + mport


class RSWatch(threading.Thread):
    """Records the monotonic time of each ReplicaSet ADDED event."""

    def __init__(self):
        super().__init__(daemon=True)
        self.added = {}
        self.cond = threading.Condition()

    def run(self):
        rv = call("GET", "/apis/apps/v1/namespaces/%s/replicasets?limit=1"
                  % NS)["metadata"]["resourceVersion"]
        req = urllib.request.Request(
            BASE + "/apis/apps/v1/namespaces/%s/replicasets?watch=true"
            "&resourceVersion=%s" % (NS, rv))
        req.add_header("Authorization", "Bearer " + TOKEN)
        with urllib.request.urlopen(req, context=CTX, timeout=3600) as r:
            for line in r:
                ev = json.loads(line)
                if ev["type"] == "ADDED":
                    with self.cond:
                        self.added[ev["object"]["metadata"]["name"]] = \
                            time.monotonic()
                        self.cond.notify_all()

    def wait_for(self, name, timeout=10):
        end = time.monotonic() + timeout
        with self.cond:
            while name not in self.added and time.monotonic() < end:
                self.cond.wait(end - time.monotonic())
            return self.added.get(name)


def patch_image(i, image):
    return call("PATCH", GROUP + "/app-%04d" % i,
                {"spec": {"template": {"spec": {"containers": [
                    {"name": "app", "image": image}]}}}},
                "application/merge-patch+json")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


SINGLE_CHANGES = int(os.environ.get("SINGLE_CHANGES", "100"))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    qps = float(os.environ.get("THROTTLED_QPS", "50"))
    call("POST", "/api/v1/namespaces",
         {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    t0 = time.time()
    parallel(lambda i: call("POST", GROUP, rollout(i, "registry.example/app:v1")),
             range(n))
    print("populate: %d Rollouts in %.1f s" % (n, time.time() - t0))
    ROLLOUTS.start()

    free = ["--qps", "5000", "--burst", "10000", "--workers", "4"]
    ctrl, murl = start_controller(free)
    took = wait_healthy(":v1", n, 300)
    print("settle: %d Rollouts Healthy %s" % (
        n, "in %.1f s" % took if took else "NOT within 300 s"))
    time.sleep(2)
    print("memory: controller VmRSS %.1f MB with %d Rollouts, %d ReplicaSets"
          % (rss_kb(ctrl.pid) / 1024.0, n, n))

    c0, cpu0 = metrics(murl), cpu_s(ctrl.pid)
    time.sleep(10)
    c1, cpu1 = metrics(murl), cpu_s(ctrl.pid)
    print("idle: %d API calls in 10 s, CPU %.2f%% of a core"
          % (c1 - c0, (cpu1 - cpu0) * 10.0))

    watch = RSWatch()
    watch.start()
    time.sleep(1)
    lat = []
    missed = 0
    for k in range(SINGLE_CHANGES):
        i = k % n
        image = "registry.example/app:single%d" % k
        # One change at a time: the clock starts before the PATCH is
        # sent, and the next change waits until this Rollout is Healthy
        # on its new image, so no other rollout is in flight.
        with watch.cond:
            before = set(watch.added)
        t = time.monotonic()
        patch_image(i, image)
        # the new ReplicaSet is named after the template hash, unknown
        # here: wait for any new ADDED event after t
        end = t + 10
        with watch.cond:
            while time.monotonic() < end:
                new = [v for kk, v in watch.added.items() if kk not in before]
                if new:
                    lat.append((min(new) - t) * 1000.0)
                    break
                watch.cond.wait(end - time.monotonic())
            else:
                missed += 1
        wait_healthy("single%d" % k, 1, 30)
    if lat:
        print("latency: spec change -> ReplicaSet ADDED, one change at a "
              "time, %d changes (%d missed): p50 %.1f ms, p99 %.1f ms, "
              "max %.1f ms" % (len(lat), missed, pct(lat, 50),
                               pct(lat, 99), max(lat)))
    wait_healthy("", n, 120)

    c0 = metrics(murl)
    dc = int(os.environ["DC_PID"])
    k0, d0 = cpu_s(ctrl.pid), cpu_s(dc)
    t0 = time.time()
    parallel(lambda i: patch_image(i, "registry.example/app:v2"), range(n))
    took = wait_healthy(":v2", n, 600, t0)
    c1 = metrics(murl)
    print("bump-all: %d Rollouts Healthy on v2 %s, %d API calls, "
          "VmRSS %.1f MB; CPU: controller %.1f s, devcluster %.1f s"
          % (n, "in %.1f s" % took if took else "NOT within 600 s",
             c1 - c0, rss_kb(ctrl.pid) / 1024.0, cpu_s(ctrl.pid) - k0,
             cpu_s(dc) - d0))
    calls_free = c1 - c0
    ctrl.send_signal(signal.SIGTERM)
    ctrl.wait()
    if os.environ.get("SKIP_THROTTLED"):
        return

    ctrl, murl = start_controller(["--qps", "%g" % qps, "--burst",
                                   "%d" % int(qps * 2)])
    wait_healthy(":v2", n, 120)
    c0 = metrics(murl)
    t0 = time.time()
    parallel(lambda i: patch_image(i, "registry.example/app:v3"), range(n))
    took = wait_healthy(":v3", n, 1200, t0)
    c1 = metrics(murl)
    calls = c1 - c0
    bound = max(0.0, (calls - 2 * qps)) / qps
    if took:
        print("throttled: --qps %g: %d Rollouts Healthy on v3 in %.1f s, "
              "%d API calls (free run: %d); the limiter's bound "
              "(calls - burst) / qps = %.1f s; %.0f%% over it"
              % (qps, n, took, calls, calls_free, bound,
                 (took / bound - 1) * 100 if bound else 0))
    else:
        print("throttled: NOT Healthy within 1200 s")
    ctrl.send_signal(signal.SIGTERM)
    ctrl.wait()


if __name__ == "__main__":
    main()
