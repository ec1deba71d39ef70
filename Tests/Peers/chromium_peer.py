#!/usr/bin/env python3
"""Headless Chromium as the remote peer of an ICE-lite server transport, loopback only.

  chromium_peer.py --server CMD...   (run inside a loopback-only namespace; see netns.sh)

Protocol with the server under test (a process started from CMD): the server prints one JSON line
  {"ufrag": ..., "pwd": ..., "fingerprint": "AB:CD:...", "setup": "passive"|"active", "port": N}
on stdout when it listens on 127.0.0.1:N; this script writes "fingerprint <Chromium's sha-256>" to its
stdin before Chromium gets the answer, and later "stats", after which the server prints one JSON line
with its counters and exits. This script connects Chromium to it, waits
--seconds, and prints {"chromium": <getStats summary>, "server": <server counters>} as JSON.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peerkit import call, chromium, serve_page  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--wrong-fingerprint", action="store_true", help="tell the server a fingerprint that is not Chromium's")
    ap.add_argument("--wrong-password", action="store_true", help="give Chromium a wrong ICE password for the server")
    ap.add_argument("--server", nargs=argparse.REMAINDER, required=True)
    args = ap.parse_args()
    server = subprocess.Popen(args.server, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        params = json.loads(server.stdout.readline())
        httpd = serve_page(HERE)
        driver = chromium()
        try:
            driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/page.html")
            offer = call(driver, "prepare()")
            fingerprint = re.search(r"a=fingerprint:sha-256 ([0-9A-Fa-f:]+)", offer).group(1)
            if args.wrong_fingerprint:
                fingerprint = ":".join(["AB"] * 32)
            if args.wrong_password:
                params = dict(params, pwd="x" * len(params["pwd"]))
            server.stdin.write(f"fingerprint {fingerprint}\n")
            server.stdin.flush()
            call(driver, f"connect({json.dumps(params)})")
            state = call(driver, "waitConnected(10000)")
            call(driver, f"new Promise(r => setTimeout(r, {int(args.seconds * 1000)}))")
            browser = call(driver, "stats()")
            browser["waited"] = state
        finally:
            driver.quit()
            httpd.shutdown()
        server.stdin.write("stats\n")
        server.stdin.flush()
        counters = json.loads(server.stdout.readline() or "null")
        server.stdin.close()
        try:
            log = server.stderr.read()
        except Exception:
            log = ""
        print(json.dumps({"chromium": browser, "server": counters, "serverLog": log[-4000:]}))
    finally:
        server.kill()


if __name__ == "__main__":
    main()
