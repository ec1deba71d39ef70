#!/usr/bin/env python3
"""Runs client/selftest.html (our JavaScript SFU client) in headless Chromium without an SFU, loopback only.

  js_client_peer.py        (run inside a loopback-only namespace; see netns.sh)

A small WebSocket server on 127.0.0.1 plays the other end of the bus: path "/bus" is a bus peer for the unit
checks, "/sfu" a scripted fake SFU (ack, INIT_TRANSPORTS with docs/protocol.md's example data, PING, INIT_CONSUMER,
S_INFO_CHANGE, BROADCAST, answers CONNECT_*/INIT_PRODUCER, SESSION_LEAVE and close 4108 once the client
broadcasts; "/call" is the same for call.html), "/reject" closes with 4106 after the credentials, "/flaky" with
1011 after the ack the first time. Prints {"page": {...}, "server": {...}} as JSON.

  js_client_peer.py --probe PATH   instead connects a SendTransport and a RecvTransport to two transport-probes (our
                                   ICE-lite WebRtcTransport) and prints {"chromium", "server", "recvServer"}.
"""
import asyncio
import json
import os
import subprocess
import sys
import threading
import time

from websockets.asyncio.server import serve

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENT = os.path.join(HERE, "client")
sys.path.insert(0, HERE)
from peerkit import call, chromium, serve_page  # noqa: E402

FIXTURES = json.load(open(os.path.join(CLIENT, "spec-fixtures.json")))
CHANNEL = "26aaaad6-8e78-494e-97e6-47ea9aab5388"
received = {"bus": [], "sfu": [], "call": [], "reject": [], "flaky": []}   # path -> frames received (JSON-decoded after the first)


def frame(*payloads):
    return json.dumps(list(payloads))


async def bus_peer(ws):
    async for raw in ws:
        payloads = json.loads(raw)
        received["bus"].append(payloads)
        for p in payloads:
            name, rid = (p.get("message") or {}).get("name"), p.get("needResponse")
            if name == "ECHO":
                await ws.send(frame({"message": {"echo": p["message"]["payload"]}, "responseTo": rid}))
            elif name == "EMPTY":
                await ws.send(frame({"responseTo": rid}))
            elif name == "START":
                await ws.send(frame({"responseTo": "not-a-pending-id"}, {"responseTo": rid}))
                await ws.send(frame({"message": {"name": "UNKNOWN_REQUEST", "payload": [1]}, "needResponse": "s_9_0"},
                                    {"message": {"name": "HELLO", "payload": {"a": 1}}},
                                    {"message": {"name": "ASK"}, "needResponse": "s_9_1"},
                                    {"message": {"name": "PING"}, "needResponse": "s_9_2"}))


async def fake_sfu(ws, key="sfu"):
    received[key].append(await ws.recv())          # credentials, kept raw
    await ws.send("")
    await ws.send(frame({"message": {"name": "INIT_TRANSPORTS", "payload": {
        "capabilities": FIXTURES["routerCapabilities"], "stcConfig": FIXTURES["transportConfig"],
        "ctsConfig": dict(FIXTURES["transportConfig"], id="cts"),
        "producerOptionsByKind": FIXTURES["producerOptionsByKind"]}}, "needResponse": "s_0_0"}))
    consumer = dict(FIXTURES["audioConsumer"], sessionId=57, active=True, type="audio")
    async for raw in ws:
        payloads = json.loads(raw)
        received[key].append(payloads)
        for p in payloads:
            message, rid = p.get("message") or {}, p.get("needResponse")
            name = message.get("name")
            if p.get("responseTo") == "s_0_0":
                await ws.send(frame({"message": {"name": "PING"}, "needResponse": "s_0_1"},
                                    {"message": {"name": "INIT_CONSUMER", "payload": consumer}, "needResponse": "s_0_2"},
                                    {"message": {"name": "S_INFO_CHANGE", "payload": {"57": {"isTalking": True}}}},
                                    {"message": {"name": "BROADCAST", "payload": {"senderId": 57, "message": "hi"}}},
                                    {"message": {"name": "START_RECORDING"}, "needResponse": "s_0_3"}))
            elif name in ("CONNECT_CTS_TRANSPORT", "CONNECT_STC_TRANSPORT"):
                await ws.send(frame({"responseTo": rid}))
            elif name == "INIT_PRODUCER":
                await ws.send(frame({"message": {"id": "producer-" + message["payload"]["type"]}, "responseTo": rid}))
            elif name == "BROADCAST":
                await ws.send(frame({"message": {"name": "SESSION_LEAVE", "payload": {"sessionId": 57}}}))
                await asyncio.sleep(0.3)
                await ws.close(4108)
                return


async def reject(ws):
    received["reject"].append(await ws.recv())
    await ws.close(4106)


async def flaky(ws):
    """Acks, then closes the first connection with 1011 (the client must reconnect); later ones stay open."""
    received["flaky"].append(await ws.recv())
    await ws.send("")
    if len(received["flaky"]) == 1:
        await ws.close(1011)
    else:
        await ws.wait_closed()


async def handler(ws):
    path = ws.request.path
    try:
        await {"/bus": bus_peer, "/sfu": fake_sfu, "/call": lambda ws: fake_sfu(ws, "call"), "/reject": reject,
                "/flaky": flaky}[path](ws)
    except Exception as error:  # recorded, so the test shows it
        received.setdefault("errors", []).append(f"{path}: {error!r}")


def start_ws_server():
    ready = threading.Event()
    port = []

    async def main():
        async with serve(handler, "127.0.0.1", 0) as server:
            port.append(server.sockets[0].getsockname()[1])
            ready.set()
            await asyncio.Future()
    threading.Thread(target=lambda: asyncio.run(main()), daemon=True).start()
    ready.wait(10)
    return port[0]


def run_call_page(driver, http, ws):
    """call.html against the fake SFU: wait for both producers and the remote audio track, then broadcast, which
    makes the fake SFU send SESSION_LEAVE and close with 4108."""
    driver.get(f"{http}/call.html?ws={ws}/call&jwt=token&channel={CHANNEL}&reconnect=0&firstRid=0")
    try:
        call(driver, "window.started")
        for _ in range(100):
            state = call(driver, "window.callState()")
            if len(state["producers"]) == 2 and state["sessions"].get("57", {}).get("tracks", {}).get("audio"):
                break
            time.sleep(0.1)
        call(driver, "window.sfu.broadcast('bye')")
        for _ in range(50):
            final = call(driver, "window.callState()")
            if final["state"] == "closed":
                break
            time.sleep(0.1)
        return {"running": state, "final": final}
    except Exception as error:
        return {"error": str(error)}


def run_probe(probe):
    """SendTransport (audio + simulcast camera) and RecvTransport (one audio consumer), each against its own
    transport-probe (our ICE-lite WebRtcTransport, DTLS server)."""
    servers = [subprocess.Popen([probe, "--dtls-role", "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        params = [json.loads(s.stdout.readline()) for s in servers]
        httpd = serve_page(CLIENT)
        driver = chromium()
        try:
            driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/selftest.html")
            fingerprints = call(driver, f"T.probeStart({json.dumps(params[0])}, {json.dumps(params[1])})")
            for server, fingerprint in zip(servers, fingerprints):
                server.stdin.write(f"fingerprint {fingerprint}\n")
                server.stdin.flush()
            browser = call(driver, "T.probeFinish(3)")
        finally:
            driver.quit()
            httpd.shutdown()
        counters = []
        for server in servers:
            server.stdin.write("stats\n")
            server.stdin.flush()
            counters.append(json.loads(server.stdout.readline() or "null"))
        print(json.dumps({"chromium": browser, "server": counters[0], "recvServer": counters[1]}))
    finally:
        for server in servers:
            server.kill()


def main():
    if "--probe" in sys.argv:
        return run_probe(sys.argv[sys.argv.index("--probe") + 1])
    ws_port = start_ws_server()
    ws = f"ws://127.0.0.1:{ws_port}"
    httpd = serve_page(CLIENT)
    driver = chromium()
    page = {}
    try:
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/selftest.html")
        steps = {"device": "T.device()", "sendAudio": "T.send('audio')", "sendCamera": "T.send('video')",
                 "recv": "T.recv()", "bus": f"T.bus('{ws}/bus')", "client": f"T.client('{ws}/sfu', '{CHANNEL}')",
                 "rejected": f"T.client('{ws}/reject')", "reconnect": f"T.reconnect('{ws}/flaky')"}
        for key, expr in steps.items():
            try:
                page[key] = call(driver, expr)
            except Exception as error:
                page[key] = {"error": str(error)}
        page["call"] = run_call_page(driver, f"http://127.0.0.1:{httpd.server_address[1]}", ws)
    finally:
        driver.quit()
        httpd.shutdown()
    print(json.dumps({"page": page, "server": received}))


if __name__ == "__main__":
    main()
