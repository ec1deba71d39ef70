#!/usr/bin/env python3
"""An Odoo SFU call participant on aiortc 1.16 + websockets: a script speaking the Odoo protocol
(docs/protocol.md §3–§6) where a browser would run odoo_sfu.js.

  aiortc_participant.py --url ws://127.0.0.1:PORT --channel UUID (--jwt TOKEN | --session-id N [--auth-key B64])
                        [--seconds S] [--no-audio] [--no-video]        (inside netns.sh: loopback only)

Prints one JSON object: {"state", "sessionId", "producers": {type: id}, "send": {...}, "recv": {...},
"consumers": [{"sessionId", "type", "kind", "mid", "frames", "width", "height"}], "received": {session: {kind:
frames}}, "errors": [...]}.

As a library (what call_peer.py does):

    p = AiortcParticipant(url, jwt, channel)      # in an asyncio loop
    await p.start()                               # websocket up, ack received; the rest runs in the background
    await p.wait_connected(20)                    # both transports DTLS-connected
    summary = await p.summary()
    await p.close()

`ParticipantThread` runs one in a private asyncio loop on a thread, for synchronous (selenium) callers.

What it does, mirroring our JavaScript client (client/sfu-client.js):
* credentials `{channelUUID, jwt}`, then waits for the first frame (the `""` ack, §3.2);
* INIT_TRANSPORTS → answers with RTP capabilities computed as §6.2 from aiortc's own codecs (CODECS /
  HEADER_EXTENSIONS): router codecs in router order that aiortc matches (opus/48000/2, VP8 + rtx; aiortc's H264
  profiles only if the router offers them), router PTs, aiortc's parameters, intersected feedback; header
  extensions the router has as `sendrecv` and aiortc implements (mid, abs-send-time, ssrc-audio-level — aiortc does
  no transport-cc, so it never offers it);
* send transport: ONE RTCPeerConnection with two sendonly transceivers (audio, video) negotiated in one offer —
  aiortc renegotiates its own offers poorly, and the server only cares about INIT_PRODUCER. The answer is fabricated
  from ctsConfig as mediasoup-client does (a=ice-lite, candidates, the LAST fingerprint, setup:passive, one
  router-matched codec with aiortc's PT + its rtx, router parameters, feedback reduced as §6.6 (no transport-cc
  extension ⇒ keep goog-remb), opus without nack, only extensions the router accepts). CONNECT_CTS_TRANSPORT
  (awaited) goes out before the offer is applied; then INIT_PRODUCER audio, then camera, each with
  `encodings: [{ssrc, rtx?}]` and the offer's cname. No simulcast (aiortc cannot).
* receive transport: a second RTCPeerConnection for which we fabricate the remote OFFER from stcConfig and the
  consumers (§6.6: one sendonly m-section per consumer, router PTs, a=ssrc cname + FID group). It is renegotiated
  whenever consumers arrive: INIT_CONSUMERs that arrive together (a batch) are folded into one renegotiation
  (serialised by a lock; a negotiation includes every consumer known when it starts). aiortc handles these
  re-offers: new m-sections get new transceivers on the bundled transport, existing receivers are left alone.
  No "probator" m-section (aiortc is not mediasoup-client; nothing of ours needs it). The first negotiation sends
  CONNECT_STC_TRANSPORT (role client: aiortc answers setup:active) before applying the answer.
* PING and unknown requests get empty responses; SESSION_LEAVE / S_INFO_CHANGE are recorded. A consumer whose
  session left, or that a newer INIT_CONSUMER of the same (session, type) replaced, is only marked (`left`,
  `replaced`): its m-section stays in our offers (aiortc cannot take port-0 / recycled m-sections back reliably), the
  server simply stops sending on it.
* every remote track is drained and its decoded frames counted (video frame size kept).
"""
import argparse
import asyncio
import base64
import copy
import fractions
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peerkit import restrict_aiortc_to_loopback  # noqa: E402
restrict_aiortc_to_loopback()

import av  # noqa: E402
import numpy  # noqa: E402
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.codecs import CODECS, HEADER_EXTENSIONS  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack  # noqa: E402
from websockets.asyncio.client import connect as ws_connect  # noqa: E402

TRANSPORT_CC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
DEFAULT_AUTH_KEY = "u6bsUQEWrHdKIuYplirRnbBmLbrKV5PxKG7DtA71mng="


# ---------------------------------------------------------------------------------------------------------------
# Synthetic media: a 440 Hz tone and a small moving picture (cheap to encode on a 2-core machine).

class ToneTrack(AudioStreamTrack):
    """48 kHz mono 440 Hz tone in 20 ms frames, paced in real time."""
    RATE = 48000
    SAMPLES = 960

    def __init__(self):
        super().__init__()
        self._pts = None
        self._start = 0.0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._pts is None:
            self._pts, self._start = 0, time.time()
        else:
            self._pts += self.SAMPLES
            await asyncio.sleep(max(0.0, self._start + self._pts / self.RATE - time.time()))
        t = (numpy.arange(self.SAMPLES) + self._pts) / self.RATE
        samples = (numpy.sin(2 * numpy.pi * 440 * t) * 8000).astype(numpy.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame


class PatternTrack(VideoStreamTrack):
    """320x240 frames at 30 fps with a bar moving across a gradient (so VP8 has changing content)."""
    WIDTH, HEIGHT = 320, 240

    def __init__(self):
        super().__init__()
        self._base = numpy.zeros((self.HEIGHT, self.WIDTH, 3), numpy.uint8)
        self._base[:, :, 0] = numpy.linspace(0, 255, self.WIDTH, dtype=numpy.uint8)
        self._base[:, :, 2] = numpy.linspace(0, 255, self.HEIGHT, dtype=numpy.uint8).reshape(-1, 1)
        self._n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        image = self._base.copy()
        x = (self._n * 4) % self.WIDTH
        image[:, x:x + 16, 1] = 255
        self._n += 1
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = pts
        frame.time_base = time_base
        return frame


# ---------------------------------------------------------------------------------------------------------------
# RTP capabilities (§6.2) from aiortc's own codec tables.

def _is_rtx(mime):
    return mime.lower().endswith("/rtx")


def native_capabilities():
    """aiortc's codecs and header extensions as mediasoup RtpCapabilities (aiortc's PTs and ids)."""
    caps = {"codecs": [], "headerExtensions": []}
    for kind in ("audio", "video"):
        for c in CODECS[kind]:
            codec = {"mimeType": c.mimeType, "kind": kind, "preferredPayloadType": c.payloadType, "clockRate": c.clockRate,
                     "parameters": {k: _number(v) for k, v in c.parameters.items()},
                     "rtcpFeedback": [{"type": f.type, "parameter": f.parameter or ""} for f in c.rtcpFeedback]}
            if kind == "audio":
                codec["channels"] = c.channels or 1
            caps["codecs"].append(codec)
        for e in HEADER_EXTENSIONS[kind]:
            caps["headerExtensions"].append({"kind": kind, "uri": e.uri, "preferredId": e.id})
    return caps


def _number(v):
    if isinstance(v, str) and v.isdigit() and str(int(v)) == v:
        return int(v)
    return v


def _h264_profile(params):
    plid = str(params.get("profile-level-id", "42e01f")).lower()
    return plid[:4]


def codecs_match(local, router):
    if local["mimeType"].lower() != router["mimeType"].lower() or local["clockRate"] != router["clockRate"]:
        return False
    if local["kind"] == "audio" and (local.get("channels") or 1) != (router.get("channels") or 1):
        return False
    mime = local["mimeType"].lower()
    lp, rp = local.get("parameters") or {}, router.get("parameters") or {}
    if mime == "video/h264":
        if int(lp.get("packetization-mode", 0)) != int(rp.get("packetization-mode", 0)):
            return False
        if _h264_profile(lp) != _h264_profile(rp):   # same profile (level negotiation not needed by aiortc)
            return False
    if mime == "video/vp9" and int(lp.get("profile-id", 0)) != int(rp.get("profile-id", 0)):
        return False
    return True


def extended_capabilities(local, router):
    """mediasoup-client's getExtendedRtpCapabilities: router order, router PT (remote) ↔ aiortc PT (local)."""
    codecs = []
    for rc in router.get("codecs", []):
        if _is_rtx(rc["mimeType"]):
            continue
        lc = next((c for c in local["codecs"] if not _is_rtx(c["mimeType"]) and codecs_match(c, rc)), None)
        if lc is None:
            continue
        router_fb = [{"type": f["type"], "parameter": f.get("parameter", "")} for f in rc.get("rtcpFeedback", [])]
        fb = [f for f in lc["rtcpFeedback"] if f in router_fb]
        ec = {"mimeType": lc["mimeType"], "kind": lc["kind"], "clockRate": lc["clockRate"], "channels": lc.get("channels"),
              "localPayloadType": lc["preferredPayloadType"], "remotePayloadType": rc["preferredPayloadType"],
              "localParameters": lc["parameters"], "remoteParameters": rc.get("parameters", {}), "rtcpFeedback": fb}
        lrtx = next((c for c in local["codecs"] if _is_rtx(c["mimeType"]) and c["parameters"].get("apt") == lc["preferredPayloadType"]), None)
        rrtx = next((c for c in router["codecs"] if _is_rtx(c["mimeType"]) and (c.get("parameters") or {}).get("apt") == rc["preferredPayloadType"]), None)
        if lrtx and rrtx:
            ec["localRtxPayloadType"], ec["remoteRtxPayloadType"] = lrtx["preferredPayloadType"], rrtx["preferredPayloadType"]
        codecs.append(ec)
    extensions = []
    for re_ in router.get("headerExtensions", []):
        le = next((e for e in local["headerExtensions"] if e["kind"] == re_["kind"] and e["uri"] == re_["uri"]), None)
        if le:
            direction = {"sendrecv": "sendrecv", "recvonly": "sendonly", "sendonly": "recvonly"}.get(re_.get("direction", "sendrecv"), "inactive")
            extensions.append({"kind": re_["kind"], "uri": re_["uri"], "sendId": le["preferredId"], "recvId": re_["preferredId"],
                               "direction": direction})
    return {"codecs": codecs, "headerExtensions": extensions}


def recv_capabilities(extended):
    """The INIT_TRANSPORTS response (§6.2)."""
    codecs = []
    for ec in extended["codecs"]:
        codec = {"mimeType": ec["mimeType"], "kind": ec["kind"], "preferredPayloadType": ec["remotePayloadType"],
                 "clockRate": ec["clockRate"]}
        if ec["kind"] == "audio":
            codec["channels"] = ec["channels"]
        codec.update(parameters=ec["localParameters"], rtcpFeedback=ec["rtcpFeedback"])
        codecs.append(codec)
        if "remoteRtxPayloadType" in ec:
            codecs.append({"mimeType": f"{ec['kind']}/rtx", "kind": ec["kind"], "preferredPayloadType": ec["remoteRtxPayloadType"],
                           "clockRate": ec["clockRate"], "parameters": {"apt": ec["remotePayloadType"]}, "rtcpFeedback": []})
    extensions = [{"kind": e["kind"], "uri": e["uri"], "preferredId": e["recvId"], "preferredEncrypt": False, "direction": "sendrecv"}
                  for e in extended["headerExtensions"] if e["direction"] == "sendrecv"]
    return copy.deepcopy({"codecs": codecs, "headerExtensions": extensions})


def sending_parameters(extended, kind, remote=False):
    """Producer codecs/extensions (aiortc's PTs and ids); remote=True: the ones our fabricated answer carries."""
    ec = next((c for c in extended["codecs"] if c["kind"] == kind), None)
    if ec is None:
        return None
    extensions = [{"uri": e["uri"], "id": e["sendId"], "encrypt": False, "parameters": {}}
                  for e in extended["headerExtensions"] if e["kind"] == kind and e["direction"] in ("sendrecv", "sendonly")]
    fb = ec["rtcpFeedback"]
    if remote:
        uris = {e["uri"] for e in extensions}
        drop = {"goog-remb"} if TRANSPORT_CC in uris else {"transport-cc"} if ABS_SEND_TIME in uris else {"goog-remb", "transport-cc"}
        fb = [f for f in fb if f["type"] not in drop]
        if kind == "audio":   # no codecOptions.opusNack in Odoo
            fb = [f for f in fb if not (f["type"] == "nack" and not f["parameter"])]
    media = {"mimeType": ec["mimeType"], "payloadType": ec["localPayloadType"], "clockRate": ec["clockRate"]}
    if kind == "audio":
        media["channels"] = ec["channels"]
    media.update(parameters=ec["remoteParameters"] if remote else ec["localParameters"], rtcpFeedback=fb)
    codecs = [media]
    if "localRtxPayloadType" in ec:
        codecs.append({"mimeType": f"{kind}/rtx", "payloadType": ec["localRtxPayloadType"], "clockRate": ec["clockRate"],
                       "parameters": {"apt": ec["localPayloadType"]}, "rtcpFeedback": []})
    return copy.deepcopy({"codecs": codecs, "headerExtensions": extensions})


# ---------------------------------------------------------------------------------------------------------------
# SDP: reading aiortc's descriptions, writing the server's side.

def parse_sections(sdp):
    """Per m-section: kind, mid, port, ssrcs [(ssrc, attr, value)], FID groups, fingerprints (incl. session level)."""
    session, sections = {"fingerprints": []}, []
    cur = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            kind, port = line[2:].split()[:2]
            cur = {"kind": kind, "port": int(port), "mid": None, "ssrcs": [], "fid": [], "fingerprints": [], "setup": None}
            sections.append(cur)
            continue
        target = cur if cur is not None else session
        if line.startswith("a=fingerprint:"):
            target["fingerprints"].append(tuple(line[len("a=fingerprint:"):].split()))
        elif cur is None:
            continue
        elif line.startswith("a=mid:"):
            cur["mid"] = line[6:]
        elif line.startswith("a=setup:"):
            cur["setup"] = line[8:]
        elif line.startswith("a=ssrc:"):
            ssrc, _, rest = line[7:].partition(" ")
            attr, _, value = rest.partition(":")
            cur["ssrcs"].append((int(ssrc), attr, value))
        elif line.startswith("a=ssrc-group:FID "):
            cur["fid"].append([int(s) for s in line.split()[1:]])
    for s in sections:
        if not s["fingerprints"]:
            s["fingerprints"] = session["fingerprints"]
    return sections


def dtls_parameters(sdp, role):
    """CONNECT_* payload: one fingerprint (sha-256 preferred, upper-case), our DTLS role."""
    prints = next((s["fingerprints"] for s in parse_sections(sdp) if s["fingerprints"]), [])
    algorithm, value = next((p for p in prints if p[0].lower() == "sha-256"), prints[0])
    return {"role": role, "fingerprints": [{"algorithm": algorithm, "value": value.upper()}]}


def _codec_lines(codecs):
    lines = []
    for c in codecs:
        name = c["mimeType"].split("/")[1]
        channels = f"/{c['channels']}" if (c.get("channels") or 1) > 1 else ""
        lines.append(f"a=rtpmap:{c['payloadType']} {name}/{c['clockRate']}{channels}")
        params = ";".join(f"{k}={v}" for k, v in (c.get("parameters") or {}).items())
        if params:
            lines.append(f"a=fmtp:{c['payloadType']} {params}")
        for f in c.get("rtcpFeedback") or []:
            lines.append(f"a=rtcp-fb:{c['payloadType']} {f['type']}" + (f" {f['parameter']}" if f.get("parameter") else ""))
    return lines


class RemoteSdp:
    """The server's side of one transport, written from its TransportConfig (§6.3) like mediasoup-client's RemoteSdp."""

    def __init__(self, config):
        self.config = config
        self.version = 0

    def session(self, mids):
        algorithm, value = (lambda f: (f["algorithm"], f["value"]))(self.config["dtlsParameters"]["fingerprints"][-1])
        self.version += 1
        return ["v=0", f"o=mediasoup-aiortc 10000 {self.version} IN IP4 0.0.0.0", "s=-", "t=0 0", "a=ice-lite",
                f"a=fingerprint:{algorithm} {value}", "a=msid-semantic: WMS *", f"a=group:BUNDLE {' '.join(mids)}"]

    def ice(self, setup):
        p = self.config["iceParameters"]
        lines = [f"a=ice-ufrag:{p['usernameFragment']}", f"a=ice-pwd:{p['password']}"]
        for c in self.config["iceCandidates"]:
            if c.get("protocol", "udp") != "udp":
                continue   # aioice does not do ICE-TCP
            lines.append(f"a=candidate:{c['foundation']} 1 {c['protocol']} {c['priority']} {c.get('ip') or c.get('address')} "
                         f"{c['port']} typ {c['type']}")
        return lines + ["a=end-of-candidates", "a=ice-options:renomination", f"a=setup:{setup}"]

    def answer(self, offer_sections, answers):
        """Answer for the send transport: `answers` maps mid → {codecs, headerExtensions}."""
        body, mids = [], []
        for s in offer_sections:
            a = answers.get(s["mid"])
            if a is None or s["port"] == 0:
                body += [f"m={s['kind']} 0 UDP/TLS/RTP/SAVPF 0", "c=IN IP4 127.0.0.1", f"a=mid:{s['mid']}", "a=inactive"]
                continue
            mids.append(s["mid"])
            body += [f"m={s['kind']} 7 UDP/TLS/RTP/SAVPF {' '.join(str(c['payloadType']) for c in a['codecs'])}",
                     "c=IN IP4 127.0.0.1", *self.ice("passive"), f"a=mid:{s['mid']}", "a=recvonly",
                     *_codec_lines(a["codecs"]), *[f"a=extmap:{e['id']} {e['uri']}" for e in a["headerExtensions"]],
                     "a=rtcp-mux", "a=rtcp-rsize"]
        return "\r\n".join(self.session(mids) + body) + "\r\n"

    def offer(self, consumers):
        """Offer for the receive transport: one sendonly m-section per consumer (§6.6 end)."""
        body = []
        for c in consumers:
            p = c["rtpParameters"]
            cname = (p.get("rtcp") or {}).get("cname") or ""
            body += [f"m={c['kind']} 7 UDP/TLS/RTP/SAVPF {' '.join(str(x['payloadType']) for x in p['codecs'])}",
                     "c=IN IP4 127.0.0.1", *self.ice("actpass"), f"a=mid:{c['mid']}", "a=sendonly",
                     *_codec_lines(p["codecs"]), "a=rtcp-mux", "a=rtcp-rsize", f"a=msid:{cname or '-'} {c['id']}",
                     *[f"a=extmap:{e['id']} {e['uri']}" for e in p.get("headerExtensions") or []]]
            encoding = (p.get("encodings") or [{}])[0]
            if cname and "ssrc" in encoding:
                body.append(f"a=ssrc:{encoding['ssrc']} cname:{cname}")
                rtx = (encoding.get("rtx") or {}).get("ssrc")
                if rtx is not None:
                    body += [f"a=ssrc:{rtx} cname:{cname}", f"a=ssrc-group:FID {encoding['ssrc']} {rtx}"]
        return "\r\n".join(self.session([c["mid"] for c in consumers]) + body) + "\r\n"


# ---------------------------------------------------------------------------------------------------------------
# RTCP feedback counters: aiortc's getStats has none (and reports a receiver's RTX SSRC under the same id as its
# media SSRC), so the participant wraps the sender's/receiver's RTCP hooks of its own RTCRtpSender/RTCRtpReceiver
# instances to see what the server asks of it and what it asks of the server.

def instrument_sender(sender, counters):
    """counters: nackedPackets, retransmitted (found in aiortc's history and resent, as RTX when negotiated),
    pli, fir, remb (last bitrate the server announced for this SSRC), receiverReports, reportedLost."""
    from aiortc.rtp import (RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RTCP_RTPFB_NACK, RtcpPsfbPacket, RtcpRrPacket,
                            RtcpRtpfbPacket, RtcpSrPacket, unpack_remb_fci)
    for key in ("nackedPackets", "retransmitted", "pli", "fir", "receiverReports"):
        counters.setdefault(key, 0)
    handle, retransmit = sender._handle_rtcp_packet, sender._retransmit

    async def handle_rtcp(packet):
        if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
            for report in packet.reports:
                if report.ssrc == sender._ssrc:
                    counters["receiverReports"] += 1
                    counters["reportedLost"] = report.packets_lost
        elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
            counters["nackedPackets"] += len(packet.lost)
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_PLI:
            counters["pli"] += 1
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_FIR:
            counters["fir"] += 1
        elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if sender._ssrc in ssrcs:
                    counters["remb"] = bitrate
            except ValueError:
                pass
        await handle(packet)

    async def counted_retransmit(sequence_number):
        from aiortc.rtcrtpsender import RTP_HISTORY_SIZE
        stored = sender._RTCRtpSender__rtp_history.get(sequence_number % RTP_HISTORY_SIZE)
        if stored is not None and stored.sequence_number == sequence_number:
            counters["retransmitted"] += 1
        await retransmit(sequence_number)

    sender._handle_rtcp_packet, sender._retransmit = handle_rtcp, counted_retransmit


def instrument_receiver(receiver, counters):
    """counters: nackedPackets (sequence numbers aiortc asked the server for), pli."""
    counters.setdefault("nackedPackets", 0)
    counters.setdefault("pli", 0)
    nack, pli = receiver._send_rtcp_nack, receiver._send_rtcp_pli

    async def counted_nack(media_ssrc, lost):
        counters["nackedPackets"] += len(lost)
        await nack(media_ssrc, lost)

    async def counted_pli(media_ssrc):
        counters["pli"] += 1
        await pli(media_ssrc)

    receiver._send_rtcp_nack, receiver._send_rtcp_pli = counted_nack, counted_pli


def receiver_streams(receiver, ssrc, rtx_ssrc):
    """Packets received / lost on the consumer's media SSRC and on its RTX SSRC (aiortc's own StreamStatistics)."""
    streams = getattr(receiver, "_RTCRtpReceiver__remote_streams", {})
    out = {}
    for key, value in (("", ssrc), ("rtx", rtx_ssrc)):
        stream = streams.get(value) if value is not None else None
        if stream is not None:
            out[key + ("PacketsReceived" if key else "packetsReceived")] = stream.packets_received
            out[key + ("PacketsLost" if key else "packetsLost")] = stream.packets_lost
    return out


# ---------------------------------------------------------------------------------------------------------------
# The participant.

class AiortcParticipant:
    def __init__(self, url, jwt, channel_uuid=None, audio=True, video=True, info=None, log=None, video_jitter_capacity=64):
        self.url, self.jwt, self.channel_uuid = url, jwt, channel_uuid
        self.video_jitter_capacity = video_jitter_capacity
        self.audio, self.video = audio, video
        self.info = info or {"isSelfMuted": False, "isRaisingHand": False, "isDeaf": False, "isTalking": False,
                             "isCameraOn": video, "isScreenSharingOn": False}
        self.log = log or (lambda *a: None)
        self.state = "disconnected"
        self.errors = []
        self.events = []              # SESSION_LEAVE / S_INFO_CHANGE / close, in order
        self.producers = {}           # type -> producer id
        self.feedback = {}            # type -> RTCP the server sent our sender (instrument_sender)
        self.producer_parameters = {}
        self.consumers = {}           # consumer id -> {id, sessionId, type, kind, mid, rtpParameters, frames, ...}
        self.capabilities = None
        self._ws = None
        self._requests = 0
        self._pending = {}
        self._tasks = set()
        self._send_pc = self._recv_pc = None
        self._cts = self._stc = None
        self._extended = None
        self._recv_lock = asyncio.Lock()
        self._recv_negotiated = []    # consumers (in m-section order) in the last applied offer
        self._stc_connected = False
        self._reader = None
        self._closed = False
        self._tracks = []
        self.timing = {}              # ms (monotonic): connecting, send / recv = that transport "connected"

    # -- bus (§4) --------------------------------------------------------------------------------------------
    async def start(self, timeout=10):
        """Opens the WebSocket, sends the credentials and waits for the ack (§3.2)."""
        self.state = "connecting"
        self.timing["connecting"] = time.monotonic() * 1000
        self._ws = await ws_connect(self.url, open_timeout=timeout, max_size=None)
        credentials = {"channelUUID": self.channel_uuid, "jwt": self.jwt} if self.channel_uuid else self.jwt
        await self._ws.send(json.dumps(credentials))
        ack = await asyncio.wait_for(self._ws.recv(), timeout)
        self.log("ack", repr(ack))
        self.state = "authenticated"
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self):
        try:
            async for frame in self._ws:
                try:
                    payloads = json.loads(frame)
                except ValueError as error:
                    self._error(f"bad frame {frame!r}: {error}")
                    continue
                for payload in payloads if isinstance(payloads, list) else [payloads]:
                    self._dispatch(payload or {})
        except Exception as error:   # connection closed abnormally
            if not self._closed:
                self._error(f"websocket: {error!r}")
        finally:
            code = getattr(self._ws, "close_code", None)
            self.events.append({"closed": code})
            if not self._closed:
                self.state = "closed"
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("bus closed"))

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _dispatch(self, payload):
        message = payload.get("message")
        if "responseTo" in payload:
            future = self._pending.pop(payload["responseTo"], None)
            if future and not future.done():
                future.set_result(message)
        elif "needResponse" in payload:
            self._spawn(self._answer(message or {}, payload["needResponse"]))
        else:
            self._on_message(message or {})

    async def _answer(self, message, request_id):
        name = message.get("name")
        try:
            response = await self._on_request(name, message.get("payload"))
        except Exception as error:   # §4.5: a failed handler sends no response
            self._error(f"{name}: {error!r}")
            return
        out = {"responseTo": request_id}
        if response is not None:
            out["message"] = response
        await self._send_frame([out])
        if name == "INIT_TRANSPORTS":
            self._spawn(self._after_connected())

    async def _send_frame(self, payloads):
        text = json.dumps(payloads)
        self.log(">>", text[:300])
        await self._ws.send(text)

    async def request(self, name, payload=None, timeout=5):
        request_id = f"c_aiortc_{self._requests}"
        self._requests += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        message = {"name": name} if payload is None else {"name": name, "payload": payload}
        await self._send_frame([{"message": message, "needResponse": request_id}])
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def send(self, name, payload=None):
        message = {"name": name} if payload is None else {"name": name, "payload": payload}
        await self._send_frame([{"message": message}])

    def _error(self, text):
        self.log("ERROR", text)
        self.errors.append(text)

    def _on_message(self, message):
        name = message.get("name")
        self.log("<< message", name)
        if name in ("SESSION_LEAVE", "S_INFO_CHANGE", "BROADCAST"):
            self.events.append({name: message.get("payload")})
        if name == "SESSION_LEAVE":
            session = (message.get("payload") or {}).get("sessionId")
            for c in self.consumers.values():
                if c["sessionId"] == session:
                    c["left"] = True

    async def _on_request(self, name, payload):
        self.log("<< request", name)
        if name == "INIT_TRANSPORTS":
            return self._init_transports(payload)
        if name == "INIT_CONSUMER":
            await self._consume(payload)
            return None
        return None   # PING and unknown requests: empty response

    # -- INIT_TRANSPORTS (§5.2, §6.2) ----------------------------------------------------------------------------
    def _init_transports(self, payload):
        if self._extended is None:   # like the Device: loaded once per participant
            self._extended = extended_capabilities(native_capabilities(), payload["capabilities"])
            self.capabilities = recv_capabilities(self._extended)
        self._cts, self._stc = RemoteSdp(payload["ctsConfig"]), RemoteSdp(payload["stcConfig"])
        config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self._send_pc, self._recv_pc = RTCPeerConnection(config), RTCPeerConnection(config)
        for key, pc in (("send", self._send_pc), ("recv", self._recv_pc)):
            pc.on("connectionstatechange", lambda key=key, pc=pc: pc.connectionState == "connected" and
                  self.timing.setdefault(key, time.monotonic() * 1000))
        self.state = "connected"
        return self.capabilities

    async def _after_connected(self):
        await self.send("C_INFO_CHANGE", {"info": self.info, "needRefresh": True})
        try:
            await self._produce()
        except Exception as error:
            self._error(f"produce: {error!r}")

    # -- send transport (§5.1 step 4, §6.5) ------------------------------------------------------------------------
    async def _produce(self):
        pc = self._send_pc
        kinds = [("audio", "audio", ToneTrack)] if self.audio else []
        kinds += [("camera", "video", PatternTrack)] if self.video else []
        kinds = [k for k in kinds if sending_parameters(self._extended, k[1])]
        if not kinds:
            return
        transceivers = {t: pc.addTransceiver(track_class(), direction="sendonly") for t, _, track_class in kinds}
        for type_, transceiver in transceivers.items():
            instrument_sender(transceiver.sender, self.feedback.setdefault(type_, {}))
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        await self.request("CONNECT_CTS_TRANSPORT", {"dtlsParameters": dtls_parameters(offer, "client")})
        sections = parse_sections(offer)
        answers = {}
        for type_, kind, _ in kinds:
            mid = transceivers[type_].mid
            answers[mid] = sending_parameters(self._extended, kind, remote=True)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=self._cts.answer(sections, answers), type="answer"))
        for type_, kind, _ in kinds:
            mid = transceivers[type_].mid
            section = next(s for s in sections if s["mid"] == mid)
            local = sending_parameters(self._extended, kind)
            cname = next((v for _, a, v in section["ssrcs"] if a == "cname"), "")
            ssrc = section["ssrcs"][0][0]
            encoding = {"ssrc": ssrc}
            fid = next((g for g in section["fid"] if g[0] == ssrc), None)
            if fid and len(local["codecs"]) > 1:
                encoding["rtx"] = {"ssrc": fid[1]}
            encoding["dtx"] = False
            rtp = {"mid": mid, "codecs": local["codecs"], "headerExtensions": local["headerExtensions"],
                   "encodings": [encoding], "rtcp": {"cname": cname, "reducedSize": True}}
            self.producer_parameters[type_] = rtp
            response = await self.request("INIT_PRODUCER", {"type": type_, "kind": kind, "rtpParameters": rtp})
            if not isinstance(response, dict) or not isinstance(response.get("id"), str):
                raise RuntimeError(f"INIT_PRODUCER {type_} answered {response!r}")
            self.producers[type_] = response["id"]

    # -- receive transport (§5.1 step 7, §6.6) -----------------------------------------------------------------
    async def _consume(self, payload):
        rtp = payload["rtpParameters"]
        first = (rtp.get("codecs") or [{}])[0]
        if _is_rtx(first.get("mimeType", "")) or not any(c["preferredPayloadType"] == first.get("payloadType") for c in self.capabilities["codecs"]):
            raise ValueError("cannot consume these rtpParameters")
        mid = rtp.get("mid")
        if not isinstance(mid, str):
            raise ValueError("consumer without mid")
        # a new consumer of the same (session, type) replaces the old one: its m-section is kept (aiortc cannot
        # recycle m-sections) but marked replaced
        for c in self.consumers.values():
            if c["sessionId"] == payload["sessionId"] and c["type"] == payload["type"] and not c.get("replaced"):
                c["replaced"] = True
        consumer = {"id": payload["id"], "producerId": payload["producerId"], "sessionId": payload["sessionId"],
                    "type": payload["type"], "kind": payload["kind"], "mid": mid, "active": payload.get("active"),
                    "rtpParameters": rtp, "ssrc": (rtp.get("encodings") or [{}])[0].get("ssrc"),
                    "rtxSsrc": ((rtp.get("encodings") or [{}])[0].get("rtx") or {}).get("ssrc"),
                    "frames": 0, "width": None, "height": None, "firstFrameAt": None, "feedback": {}, "receiver": None}
        self.consumers[consumer["id"]] = consumer
        await self._negotiate_recv()
        transceiver = next((t for t in self._recv_pc.getTransceivers() if t.mid == mid), None)
        if transceiver is None or transceiver.receiver.track is None:
            raise RuntimeError(f"no receiver for mid {mid}")
        consumer["receiver"] = transceiver.receiver
        instrument_receiver(transceiver.receiver, consumer["feedback"])
        self._drain(transceiver.receiver.track, consumer)

    async def _negotiate_recv(self):
        async with self._recv_lock:
            wanted = [c for c in self.consumers.values()]
            if len(wanted) == len(self._recv_negotiated):
                return   # an earlier negotiation already included every consumer
            pc = self._recv_pc
            known = set(pc.getTransceivers())
            await pc.setRemoteDescription(RTCSessionDescription(sdp=self._stc.offer(wanted), type="offer"))
            if self.video_jitter_capacity:
                # aiortc's video jitter buffer (512 packets) releases frames only in sequence order, so one
                # sequence number nobody can resend (the server leaves such holes around simulcast layer switches,
                # see README) stalls decoding for 512 packets (~20 s at these rates) before aiortc drops it and
                # sends a PLI. Browsers give up within a second or two; 64 packets (2-3 s here, still several whole
                # key frames) gets aiortc closer. Swapped before the answer starts the receivers.
                from aiortc.jitterbuffer import JitterBuffer
                for t in pc.getTransceivers():
                    if t not in known and t.kind == "video":
                        t.receiver._RTCRtpReceiver__jitter_buffer = JitterBuffer(capacity=self.video_jitter_capacity, is_video=True)
            answer = await pc.createAnswer()
            if not self._stc_connected:
                setup = next((s["setup"] for s in parse_sections(answer.sdp) if s["setup"]), "active")
                role = {"active": "client", "passive": "server"}.get(setup, "auto")
                await self.request("CONNECT_STC_TRANSPORT", {"dtlsParameters": dtls_parameters(answer.sdp, role)})
                self._stc_connected = True
            await pc.setLocalDescription(answer)
            self._recv_negotiated = wanted

    def _drain(self, track, consumer):
        async def drain():
            while True:
                try:
                    frame = await track.recv()
                except Exception:
                    return
                consumer["frames"] += 1
                if consumer["firstFrameAt"] is None:
                    consumer["firstFrameAt"] = time.monotonic()
                if hasattr(frame, "width"):
                    consumer["width"], consumer["height"] = frame.width, frame.height
        self._tracks.append(self._spawn(drain()))

    # -- observation ---------------------------------------------------------------------------------------------
    def transports_connected(self):
        return all(pc is not None and pc.connectionState == "connected" for pc in (self._send_pc, self._recv_pc))

    async def wait_connected(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.transports_connected():
                return True
            await asyncio.sleep(0.1)
        return False

    def frames(self, session_id, kind):
        """Frames decoded (video) or audio frames received from that session's producer of that kind."""
        return sum(c["frames"] for c in self.consumers.values() if str(c["sessionId"]) == str(session_id) and c["kind"] == kind)

    async def summary(self):
        async def pc_summary(pc):
            if pc is None:
                return None
            out = {"connectionState": pc.connectionState, "iceConnectionState": pc.iceConnectionState,
                   "signalingState": pc.signalingState, "outbound": {}}
            transceivers = pc.getTransceivers()
            if transceivers:
                dtls = transceivers[0].receiver.transport
                out["dtlsState"], out["dtlsRole"] = dtls.state, dtls._role   # aiortc keeps the role private
            try:
                for stat in (await pc.getStats()).values():
                    if stat.type == "outbound-rtp":
                        out["outbound"][stat.kind] = {"ssrc": stat.ssrc, "packetsSent": stat.packetsSent, "bytesSent": stat.bytesSent}
            except Exception as error:
                out["statsError"] = repr(error)
            return out
        send, recv = await pc_summary(self._send_pc), await pc_summary(self._recv_pc)
        received = {}
        for c in self.consumers.values():
            received.setdefault(str(c["sessionId"]), {}).setdefault(c["kind"], 0)
            received[str(c["sessionId"])][c["kind"]] += c["frames"]
        return {"state": self.state, "producers": dict(self.producers),
                "send": send, "recv": recv,
                "consumers": [{k: c[k] for k in ("sessionId", "type", "kind", "mid", "ssrc", "active", "frames", "width", "height")}
                              | {"payloadType": c["rtpParameters"]["codecs"][0]["payloadType"], "packetsReceived": None, "packetsLost": None,
                                 **(receiver_streams(c["receiver"], c["ssrc"], c["rtxSsrc"]) if c["receiver"] else {}),
                                 "sentToServer": dict(c["feedback"]),
                                 "replaced": bool(c.get("replaced")), "left": bool(c.get("left"))} for c in self.consumers.values()],
                "feedbackFromServer": copy.deepcopy(self.feedback),
                "received": received, "events": self.events[-20:], "errors": list(self.errors)}

    async def close(self):
        """Leaves the call: both peer connections and the WebSocket (code 1000) are closed."""
        if self._closed:
            return
        self._closed = True
        self.state = "closed"
        for task in list(self._tasks):
            task.cancel()
        for pc in (self._send_pc, self._recv_pc):
            if pc is not None:
                try:
                    await pc.close()
                except Exception as error:
                    self._error(f"close: {error!r}")
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            try:
                await asyncio.wait_for(self._reader, 2)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass


class ParticipantThread:
    """One AiortcParticipant on its own asyncio loop in a daemon thread, for synchronous callers (call_peer.py)."""

    def __init__(self, url, jwt, channel_uuid=None, session_id=None, **options):
        self.session_id = session_id
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=f"aiortc-{session_id}", daemon=True)
        self.thread.start()
        self.participant = self._run(self._make(url, jwt, channel_uuid, options), 15)

    async def _make(self, url, jwt, channel_uuid, options):
        p = AiortcParticipant(url, jwt, channel_uuid, **options)
        await p.start()
        return p

    def _run(self, coroutine, timeout=30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def summary(self):
        return self._run(self.participant.summary(), 10)

    def transports_connected(self):
        return self.participant.transports_connected()

    def frames(self, session_id, kind):
        return self.participant.frames(session_id, kind)

    def leave(self):
        """Closes the participant (the server sees the WebSocket close); summary() keeps working."""
        self._run(self.participant.close(), 15)

    def close(self):
        if not self.loop.is_running():
            return
        try:
            self._run(self.participant.close(), 15)
        except Exception:
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def mint_jwt(channel, session_id, auth_key=DEFAULT_AUTH_KEY):
    import jwt as pyjwt
    return pyjwt.encode({"sfu_channel_uuid": channel, "session_id": session_id}, base64.b64decode(auth_key), algorithm="HS256")


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--channel")
    ap.add_argument("--jwt")
    ap.add_argument("--session-id", type=int)
    ap.add_argument("--auth-key", default=os.environ.get("AUTH_KEY", DEFAULT_AUTH_KEY))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--no-audio", action="store_true")
    ap.add_argument("--no-video", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    token = args.jwt or mint_jwt(args.channel, args.session_id, args.auth_key)
    log = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.verbose else None
    p = AiortcParticipant(args.url, token, args.channel, audio=not args.no_audio, video=not args.no_video, log=log)
    try:
        await p.start()
        await p.wait_connected(20)
        await asyncio.sleep(args.seconds)
        print(json.dumps(await p.summary()))
    finally:
        await p.close()


if __name__ == "__main__":
    asyncio.run(main())
