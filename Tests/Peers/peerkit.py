"""Shared pieces for driving real WebRTC peers on loopback: a page server, headless Chromium with the
flags that work in a loopback-only network namespace, headless Firefox ESR through Marionette with the prefs
that do the same, an async-call helper, and the aioice patch that restricts aiortc to 127.0.0.1. Used by the
end-to-end tests here and by Captures/tools/peers.py."""
import http.server
import json
import os
import shutil
import socket
import socketserver
import subprocess
import tempfile
import threading
import time

CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection",
                  "--disable-features=WebRtcHideLocalIpsWithMdns", "--disable-gpu", "--disable-dev-shm-usage"]


def restrict_aiortc_to_loopback():
    """aioice skips 127.0.0.1 on purpose and has no option for it; gather only 127.0.0.1."""
    import aioice.ice
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=True: ["127.0.0.1"]


def serve_page(directory):
    """Serves `directory` on 127.0.0.1 (a secure context, so getUserMedia works) from a thread."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=directory, **kw)

        def log_message(self, *a):
            pass
    httpd = socketserver.TCPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def chromium():
    """Headless Debian Chromium through chromedriver (explicit paths: no Selenium Manager download)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in CHROMIUM_FLAGS:
        o.add_argument(a)
    d = webdriver.Chrome(options=o, service=Service("/usr/bin/chromedriver"))
    d.set_script_timeout(60)
    return d


# Firefox has no command-line switches for fake media or loopback ICE: these prefs do it. Without
# ice.loopback, or without the default camera/microphone permission, Firefox gathers no candidate at all in a
# loopback-only namespace (see README.md, "Firefox ESR"). The rest keeps a fresh profile quiet offline.
FIREFOX_PREFS = {
    "media.navigator.streams.fake": True,                 # fake camera (moving colour frames) and microphone (tone)
    "media.navigator.permission.disabled": True,          # no getUserMedia prompt
    "permissions.default.camera": 1,                      # "allowed": without a camera/microphone permission Firefox
    "permissions.default.microphone": 1,                  # gathers only the default-route address, which a lo-only netns lacks
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.no_host": False,
    "media.peerconnection.ice.obfuscate_host_addresses": False,   # raw IPs, never mDNS names
    "media.peerconnection.ice.default_address_only": False,
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    "marionette.port": 0,                                 # replaced per instance
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "browser.safebrowsing.update.enabled": False,
    "remote.prefs.recommended": True,
}
FIREFOX_BINARY = "/usr/bin/firefox-esr"


class Firefox:
    """Headless Debian Firefox ESR driven over Marionette (PyPI marionette-driver: Debian ships no geckodriver
    and nothing can be downloaded). Offers the three driver calls the tests use: get, execute_async_script, quit."""

    def __init__(self, prefs=None):
        from marionette_driver.marionette import Marionette
        self.profile = tempfile.mkdtemp(prefix="ff-profile-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        settings = {**FIREFOX_PREFS, **(prefs or {}), "marionette.port": port}
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for key, value in settings.items():
                f.write(f"user_pref({json.dumps(key)}, {json.dumps(value)});\n")
        self.log = open(os.path.join(self.profile, "firefox.log"), "wb")
        env = {**os.environ, "MOZ_HEADLESS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}
        self.process = subprocess.Popen([FIREFOX_BINARY, "--marionette", "--headless", "--no-remote", "--profile",
                                         self.profile, "about:blank"], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.client = Marionette(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.start_session(timeout=5)
                break
            except Exception:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.quit()
                    raise RuntimeError("firefox did not start a Marionette session")
                time.sleep(0.25)
        self.client.timeout.script = 60

    def get(self, url):
        self.client.navigate(url)

    def execute_async_script(self, script):
        # sandbox=None runs the script in the page's own global, as WebDriver does (window.sfu is visible).
        return self.client.execute_async_script(script, sandbox=None, new_sandbox=False)

    def set_script_timeout(self, seconds):
        self.client.timeout.script = seconds

    def quit(self):
        try:
            self.client.delete_session()
        except Exception:
            pass
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def firefox(prefs=None):
    """Headless Firefox ESR with fake media and loopback ICE (see FIREFOX_PREFS)."""
    return Firefox(prefs)


def call(driver, expr):
    """Evaluates a JavaScript promise expression in the page and returns its value (raises on rejection)."""
    r = driver.execute_async_script(
        "const cb = arguments[arguments.length - 1];"
        f"Promise.resolve().then(() => {expr}).then(cb, e => cb({{error: String(e)}}));")
    if isinstance(r, dict) and "error" in r:
        raise RuntimeError(r["error"])
    return r


def count_frames(track, counts):
    """Consumes an aiortc track in the background, counting frames in counts[track.kind]."""
    import asyncio

    async def drain():
        while True:
            try:
                await track.recv()
            except Exception:
                return
            counts[track.kind] += 1
    asyncio.ensure_future(drain())
