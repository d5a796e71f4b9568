#!/usr/bin/env python3
"""The admin console's cost in a browser: how long the overview takes to show its figures
and its busiest routes with ROUTES routes that all have traffic, and how much CPU the
browser spends while the charts update every second (all of Chromium's processes: an upper
bound for the page). Drives headless Chromium through chromedriver (WebDriver over HTTP).

    bench/console.py                       # 1,000 routes, CPU over 30 s
    ROUTES=10000 CPU_SECONDS=60 bench/console.py
    WASMGATE=target/debug/wasmgate bench/console.py

Needs chromium and chromium-driver (Debian), wrk, and a built `wasmgate` (release by
default) and examples/hello for wasm32-wasip2 (both built here when missing). Not part of
the test command; bench/RESULTS.md keeps the latest figures.
"""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUTES = int(os.environ.get("ROUTES", "1000"))
CPU_SECONDS = float(os.environ.get("CPU_SECONDS", "30"))
# The page open while the CPU is measured (`logs`, say, for a baseline without charts).
PAGE = os.environ.get("PAGE", "overview")
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def built(path, cargo_args):
    if not os.path.exists(path):
        print(f"==> building {os.path.basename(path)}", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "-q", *cargo_args], cwd=ROOT, check=True)
    return path


def http(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"{}")


class Browser:
    """One headless Chromium session through chromedriver."""

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        options = {"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage", "--window-size=1400,1000"]}
        answer = http("POST", f"{self.base}/session",
                      {"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}})
        self.session = f"{self.base}/session/{answer['value']['sessionId']}"

    def goto(self, url):
        http("POST", f"{self.session}/url", {"url": url})

    def run(self, script, *args):
        return http("POST", f"{self.session}/execute/sync", {"script": script, "args": list(args)})["value"]

    def run_async(self, script, *args):
        http("POST", f"{self.session}/timeouts", {"script": 60000})
        return http("POST", f"{self.session}/execute/async", {"script": script, "args": list(args)})["value"]

    def close(self):
        http("DELETE", self.session)


def cpu_seconds(root_pid):
    """User and system CPU time of `root_pid`'s descendants (Chromium's processes)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append((int(entry), fields))
            except OSError:
                pass
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [root_pid]
    while stack:
        for pid, fields in children.get(stack.pop(), []):
            total += (int(fields[11]) + int(fields[12])) / ticks
            stack.append(pid)
    return total


def main():
    wasmgate = os.environ.get("WASMGATE") or built(os.path.join(TARGET, "release", "wasmgate"), ["-p", "wasmgate"])
    hello = built(os.path.join(TARGET, "wasm32-wasip2", "release", "hello.wasm"),
                  ["--target", "wasm32-wasip2", "-p", "hello"])
    work = tempfile.mkdtemp()
    manifest = os.path.join(work, "wasmgate.toml")
    with open(manifest, "w") as f:
        f.write(f'[[modules]]\nname = "hello"\npath = "{hello}"\n\n')
        for i in range(ROUTES):
            f.write(f'[[routes]]\nmethod = "GET"\npath = "/r{i}/items/{{id}}"\nmodule = "hello"\n\n')
    listen, admin_port, driver_port = free_port(), free_port(), free_port()
    processes = []
    try:
        gateway = subprocess.Popen(
            [wasmgate, "up", manifest, "--listen", f"127.0.0.1:{listen}",
             "--admin-listen", f"127.0.0.1:{admin_port}", "--data-dir", os.path.join(work, "data")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(gateway)
        admin = f"http://127.0.0.1:{admin_port}"
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"{admin}/readyz", timeout=2)
                break
            except OSError:
                if time.time() > deadline:
                    sys.exit("the gateway did not get ready")
                time.sleep(0.2)
        token = open(os.path.join(work, "data", "admin-token")).read().strip()
        # Every route has traffic, so the metrics hold all of them; then light load on random ones.
        for i in range(ROUTES):
            urllib.request.urlopen(f"http://127.0.0.1:{listen}/r{i}/items/1").read()
        lua = os.path.join(work, "random.lua")
        with open(lua, "w") as f:
            f.write(f'request = function() return wrk.format("GET", "/r" .. math.random(0, {ROUTES - 1}) .. "/items/1") end\n')
        load = subprocess.Popen(["wrk", "-t1", "-c2", f"-d{int(CPU_SECONDS) + 60}s", "-s", lua,
                                 f"http://127.0.0.1:{listen}"], stdout=subprocess.DEVNULL)
        processes.append(load)
        metrics_bytes, stats_bytes = (len(urllib.request.urlopen(urllib.request.Request(
            f"{admin}{query}", headers={"authorization": f"Bearer {token}"})).read())
            for query in ("/metrics", "/stats"))

        driver = subprocess.Popen(["chromedriver", f"--port={driver_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(driver)
        time.sleep(1)
        browser = Browser(driver_port)
        browser.goto(f"{admin}/console/")
        browser.run("sessionStorage.setItem('wasmgate.admin-token', arguments[0]);", token)
        renders = []
        for _ in range(3):
            browser.goto(f"{admin}/console/?{random.random()}#/overview")
            renders.append(browser.run_async(
                "const done = arguments[arguments.length - 1];"
                f"const check = () => document.querySelectorAll('main table tbody tr').length >= {min(20, ROUTES)}"
                "  ? done(performance.now()) : setTimeout(check, 10);"
                "check();"))
        if PAGE != "overview":
            browser.goto(f"{admin}/console/#/{PAGE}")
        before = cpu_seconds(driver.pid)
        time.sleep(CPU_SECONDS)
        spent = cpu_seconds(driver.pid) - before
        browser.close()
        render = sorted(renders)[1]
        print(f"| routes with traffic | /metrics, /stats size | overview shown (median of 3) | browser CPU on #/{PAGE} |")
        print(f"|---|---|---|---|")
        print(f"| {ROUTES:,} | {metrics_bytes / 1e6:.1f} MB, {stats_bytes / 1e6:.2f} MB | {render:.0f} ms | {100 * spent / CPU_SECONDS:.1f}% of a core |")
    finally:
        for process in processes:
            process.kill()


if __name__ == "__main__":
    main()
