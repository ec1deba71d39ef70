#!/usr/bin/env python3
"""Odoo calls through the real `sfu` server with headless Chromium participants running our JavaScript client
(client/call.html), inside a loopback-only network namespace (run it through netns.sh).

  call_peer.py SCENARIO [--participants N] [--browsers chromium,firefox] [--aiortc M] [--seconds S] [--env KEY=VALUE ...]

Starts `sfu` ($SFU_BINARY) on 127.0.0.1, creates a channel over HTTP (/v1/channel), opens one browser per
participant (Chromium unless --browsers names them in order, e.g. `chromium,firefox`: Firefox ESR through
Marionette, see peerkit.Firefox) on call.html (fake microphone and camera, the camera in simulcast as the server's
producerOptionsByKind asks), plus --aiortc M aiortc participants (aiortc_participant.py, each on its own asyncio loop
in a thread of this process, session ids after the browser ones, seen through the same state() shape), runs SCENARIO
and prints one JSON object with what it observed:

  join      every participant reaches ICE + DTLS "connected" on both transports; join timings (ms)
  call      every participant decodes video and receives audio from every other one; then participant 0
            pauses and resumes its download of participant 1's camera; then the last participant leaves
  media     runs the call for --seconds and reports per-consumer receive statistics (loss tests, simulcast),
            and in atFlowing the counters at the moment media was first seen flowing
"""
import argparse
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time

import jwt as pyjwt
import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peerkit import call, chromium, firefox, serve_page  # noqa: E402

AUTH_KEY = "u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng="
KEY = base64.b64decode(AUTH_KEY)


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, extra_env):
        self.port = free_port()
        rtc = free_port(socket.SOCK_DGRAM)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AUTH_KEY": AUTH_KEY, "PUBLIC_IP": "127.0.0.1",
               "HTTP_INTERFACE": "127.0.0.1", "RTC_INTERFACE": "127.0.0.1", "PORT": str(self.port),
               "RTC_MIN_PORT": str(rtc), "RTC_MAX_PORT": str(min(65535, rtc + 50)), "LOG_LEVEL": "info", "LOG_COLOR": ""}
        env.update(extra_env)
        self.log_path = f"/tmp/sfu-call-{self.port}.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([os.environ["SFU_BINARY"]], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/v1/noop", timeout=1).ok:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        raise RuntimeError("sfu did not start")

    def channel(self, tap=False):
        token = pyjwt.encode({"iss": f"call-{time.monotonic_ns()}"}, KEY, algorithm="HS256")
        query = "?tap=true" if tap else ""   # not in odoo/sfu: the plaintext tap's per-channel switch
        r = requests.get(f"http://127.0.0.1:{self.port}/v1/channel{query}", headers={"Authorization": f"jwt {token}"}, timeout=5)
        r.raise_for_status()
        return r.json()["uuid"]

    def stats(self):
        return requests.get(f"http://127.0.0.1:{self.port}/v1/stats", timeout=5).json()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        with open(self.log_path, errors="replace") as f:
            return f.read()


class Participant:
    def __init__(self, page_port, server, channel, session_id, mic=True, camera=True, browser="chromium", video="640x480"):
        self.session_id = session_id
        self.browser = browser
        self.driver = firefox() if browser == "firefox" else chromium()
        token = pyjwt.encode({"sfu_channel_uuid": channel, "session_id": session_id}, KEY, algorithm="HS256")
        self.driver.get(f"http://127.0.0.1:{page_port}/call.html?ws=ws://127.0.0.1:{server.port}&jwt={token}"
                        f"&channel={channel}&mic={int(mic)}&camera={int(camera)}&reconnect=0&firstRid=0"
                        f"&width={video.split('x')[0]}&height={video.split('x')[1]}")

    def state(self):
        return call(self.driver, "window.callState()")

    def run(self, expr):
        return call(self.driver, expr)

    def timing(self):
        return self.run("window.timing")

    def leave(self):
        self.run("window.sfu.disconnect()")

    def close(self):
        try:
            self.driver.quit()
        except Exception:
            pass


class AiortcCallParticipant:
    """An aiortc participant (aiortc_participant.py) in a thread of this process. state() has the shape of
    call.html's callState() for what the scenarios read (transport states, consumers with inbound figures: video
    framesDecoded = frames aiortc decoded, audio packetsReceived, and framesReceived = decoded audio frames)."""

    browser = "aiortc"

    def __init__(self, server, channel, session_id):
        from aiortc_participant import ParticipantThread
        self.session_id = session_id
        token = pyjwt.encode({"sfu_channel_uuid": channel, "session_id": session_id}, KEY, algorithm="HS256")
        self.thread = ParticipantThread(f"ws://127.0.0.1:{server.port}", token, channel, session_id=session_id)

    def state(self):
        s = self.thread.summary()
        feedback = lambda f: {"nackedPackets": f.get("nackedPackets"), "retransmittedPacketsSent": f.get("retransmitted"),
                              "pliCount": f.get("pli"), "firCount": f.get("fir"), "rembBitrate": f.get("remb"),
                              "reportedLost": f.get("reportedLost"), "receiverReports": f.get("receiverReports")}
        transport = lambda t: {k: v for k, v in (t or {}).items() if k not in ("inbound", "outbound")}
        return {"state": s["state"], "errors": s["errors"], "aiortc": True,
                "stats": {"send": transport(s["send"]), "recv": transport(s["recv"]),
                          "producers": {t: {"id": i, "kind": "audio" if t == "audio" else "video",
                                            "outbound": [{**(((s["send"] or {}).get("outbound") or {}).get("audio" if t == "audio" else "video") or {}),
                                                          **feedback(s["feedbackFromServer"].get(t) or {})}]}
                                        for t, i in s["producers"].items()},
                          "consumers": [{"sessionId": c["sessionId"], "type": c["type"], "kind": c["kind"], "paused": not c["active"],
                                         "inbound": [{"ssrc": c["ssrc"], "kind": c["kind"], "payloadType": c["payloadType"],
                                                      "packetsReceived": c["packetsReceived"], "packetsLost": c["packetsLost"],
                                                      "framesReceived": c["frames"], "frameWidth": c["width"], "frameHeight": c["height"],
                                                      "rtxPacketsReceived": c.get("rtxPacketsReceived"),
                                                      "nackedPackets": c["sentToServer"].get("nackedPackets"), "pliCount": c["sentToServer"].get("pli"),
                                                      **({"framesDecoded": c["frames"]} if c["kind"] == "video" else {})}]}
                                        for c in s["consumers"] if not c["replaced"] and not c["left"]]},
                "log": [{"update": "disconnect", "payload": e["SESSION_LEAVE"]} for e in s["events"] if "SESSION_LEAVE" in e]}

    def timing(self):
        return self.thread.participant.timing

    def leave(self):
        self.thread.leave()

    def close(self):
        self.thread.close()


def transports_connected(state):
    stats = state.get("stats") or {}
    return all((stats.get(k) or {}).get("dtlsState") == "connected" and (stats.get(k) or {}).get("connectionState") == "connected"
               for k in ("send", "recv"))


def consumers(state):
    return (state.get("stats") or {}).get("consumers") or []


def inbound(consumer):
    return (consumer.get("inbound") or [{}])[0]


def wait(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.25)
    raise TimeoutError(what)


def media_flowing(p, others, audio=True):
    """p decodes video from every other participant and receives audio from each."""
    cs = consumers(p.state())
    for other in others:
        mine = [c for c in cs if c["sessionId"] in (other.session_id, str(other.session_id))]
        video = [c for c in mine if c["type"] == "camera" and inbound(c).get("framesDecoded", 0) > 0]
        sound = [c for c in mine if c["type"] == "audio" and inbound(c).get("packetsReceived", 0) > 0]
        if not video or (audio and not sound):
            return False
    return True


def frames_of(p, session_id, type_="camera"):
    for c in consumers(p.state()):
        if c["sessionId"] in (session_id, str(session_id)) and c["type"] == type_:
            return inbound(c).get("framesDecoded", 0)
    return None


def summary(p):
    st = p.state()
    return {"session": p.session_id, "browser": p.browser, "state": st.get("state"), "errors": st.get("errors"),
            "send": {k: v for k, v in ((st.get("stats") or {}).get("send") or {}).items() if k != "selectedCandidatePair"},
            "recv": {k: v for k, v in ((st.get("stats") or {}).get("recv") or {}).items() if k != "selectedCandidatePair"},
            "producers": (st.get("stats") or {}).get("producers"),
            "consumers": [{"sessionId": c["sessionId"], "type": c["type"], "paused": c.get("paused"), **inbound(c)} for c in consumers(st)]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("scenario", choices=["join", "call", "media"])
    ap.add_argument("--participants", type=int, default=2)
    ap.add_argument("--browsers", default="chromium",
                    help="comma-separated browser per participant (chromium|firefox), the last one repeats")
    ap.add_argument("--aiortc", type=int, default=0, help="aiortc participants, after the browser ones")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--tap-rounds", type=int, default=0,
                    help="join: the channels of the first N rounds are created with ?tap=true, and each round waits "
                         "for media to flow before it closes (so the plaintext tap has packets to write)")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--video", default="640x480", help="fake camera size (1280x720 makes Chromium send 3 layers)")
    args = ap.parse_args()
    browsers = [b.strip() for b in args.browsers.split(",") if b.strip()]
    if not browsers or any(b not in ("chromium", "firefox") for b in browsers):
        ap.error("--browsers takes chromium and/or firefox")
    browser_of = lambda i: browsers[min(i, len(browsers) - 1)]   # noqa: E731
    server = Server(dict(e.split("=", 1) for e in args.env))
    page = serve_page(os.path.join(HERE, "client"))
    result = {"scenario": args.scenario}
    participants = []
    try:
        if args.scenario == "join":
            timings, joiners = [], []
            result["channels"] = []
            for round_ in range(args.rounds):
                channel = server.channel(tap=round_ < args.tap_rounds)
                result["channels"].append(channel)
                group = [Participant(page.server_address[1], server, channel, i + 1, browser=browser_of(i))
                     for i in range(args.participants)]
                group += [AiortcCallParticipant(server, channel, args.participants + i + 1) for i in range(args.aiortc)]
                participants += group
                for p in group:
                    wait("transports connected", lambda: transports_connected(p.state()), 30)
                if args.tap_rounds:
                    for p in group:
                        wait(f"media at participant {p.session_id}", lambda: media_flowing(p, [o for o in group if o is not p]), 60)
                for index, p in enumerate(group):
                    t = p.timing()
                    timings.append(round(max(t["send"], t["recv"]) - t["connecting"], 1))
                    if index == len(group) - 1:
                        joiners.append(timings[-1])
                result["participants"] = [summary(p) for p in group]
                for p in group:
                    p.close()
            result["joinMilliseconds"] = timings
            # The last participant of each round joins a call whose others already produce: its receive
            # transport connects as soon as its consumers arrive (the first one waits for someone to produce).
            result["joinIntoLiveCallMilliseconds"] = joiners
        else:
            channel = server.channel()
            participants = [Participant(page.server_address[1], server, channel, i + 1, browser=browser_of(i), video=args.video)
                            for i in range(args.participants)]
            participants += [AiortcCallParticipant(server, channel, args.participants + i + 1) for i in range(args.aiortc)]
            for p in participants:
                others = [o for o in participants if o is not p]
                wait(f"media at participant {p.session_id}", lambda: media_flowing(p, others), 60)
            result["mediaFlowing"] = True
            result["stats"] = [c for c in server.stats() if c["uuid"] == channel]
            if args.scenario == "media":
                # What each participant had decoded/received when media was first seen flowing everywhere, so
                # callers can check that the counters keep growing over --seconds.
                result["atFlowing"] = [{"session": p.session_id, "consumers": [
                    {"sessionId": c["sessionId"], "type": c["type"], "framesDecoded": inbound(c).get("framesDecoded"),
                     "packetsReceived": inbound(c).get("packetsReceived")} for c in consumers(p.state())]}
                    for p in participants]
                # Once a second: what participant 0 decodes of participant 1's camera (layer switches show as
                # frame-size changes; framesDecoded must keep growing, keyFramesDecoded must stay small).
                timeline = []
                end = time.monotonic() + args.seconds
                while time.monotonic() < end:
                    for c in consumers(participants[0].state()):
                        if str(c["sessionId"]) == str(participants[1].session_id) and c["type"] == "camera":
                            i = inbound(c)
                            timeline.append({k: i.get(k) for k in ("frameWidth", "framesDecoded", "keyFramesDecoded", "freezeCount", "packetsLost", "nackCount", "pliCount")})
                    time.sleep(1)
                result["timeline"] = timeline
                result["participants"] = [summary(p) for p in participants]
                result["stats"] = [c for c in server.stats() if c["uuid"] == channel]
            else:
                a, b = participants[0], participants[1]
                before = frames_of(a, b.session_id)
                a.run(f"window.sfu.updateDownload({b.session_id}, {{camera: false}})")
                time.sleep(2)   # let frames in flight drain
                paused_start = frames_of(a, b.session_id)
                time.sleep(3)
                paused_end = frames_of(a, b.session_id)
                a.run(f"window.sfu.updateDownload({b.session_id}, {{camera: true}})")
                resumed = wait("frames after resume", lambda: (frames_of(a, b.session_id) or 0) > paused_end + 10 and frames_of(a, b.session_id), 20)
                result["pause"] = {"before": before, "pausedStart": paused_start, "pausedEnd": paused_end, "resumed": resumed}
                result["participants"] = [summary(p) for p in participants]
                leaver = participants[-1]
                leaver.leave()
                for p in participants[:-1]:
                    wait("leave seen", lambda: any(u.get("update") == "disconnect" and str(u["payload"]["sessionId"]) == str(leaver.session_id)
                                                   for u in p.state()["log"]), 10)
                result["leave"] = {"remainingConsumersOfLeaver": sum(
                    1 for p in participants[:-1] for c in consumers(p.state()) if str(c["sessionId"]) == str(leaver.session_id))}
    except Exception as error:
        result["failure"] = f"{type(error).__name__}: {error}"
        try:
            result["participants"] = [summary(p) for p in participants]
        except Exception:
            pass
    finally:
        # While the call is still up: SIGIO makes every worker log how late its deadline timer has been firing.
        server.process.send_signal(signal.SIGIO)
        time.sleep(0.5)
        for p in participants:
            p.close()
        log = server.stop()
        result["serverErrors"] = [line for line in log.splitlines() if "ERROR" in line or "WARN" in line][:40]
        result["timerLateness"] = [line.split("] - ", 1)[-1] for line in log.splitlines() if "timer lateness" in line]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
