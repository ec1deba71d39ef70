"""Shared pieces for driving real WebRTC peers on loopback: a page server, headless Chromium with the
flags that work in a loopback-only network namespace, an async-call helper, and the aioice patch that
restricts aiortc to 127.0.0.1. Used by the end-to-end tests here and by Captures/tools/peers.py."""
import http.server
import socketserver
import threading

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
