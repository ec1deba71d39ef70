"""Real WebRTC peers for recording Captures/ (aiortc and headless Chromium), loopback only.

Run it only through Captures/tools/record.sh, which puts it in a fresh loopback-only network
namespace with tshark listening on lo. Modes:

  aiortc-aiortc   two aiortc peers in one process: audio, video (VP8) and a data channel
  chromium-aiortc headless Chromium (fake camera + microphone, VP8) offers to an aiortc answerer that
                  echoes video back, with transport-cc negotiated in both directions
  chromium-chromium two RTCPeerConnections in one Chromium page, audio + VP8 video, transport-cc

Patches applied to aiortc (all in this file, nothing installed is modified):
  * aioice gathers only 127.0.0.1 (it skips loopback on purpose and has no option for it);
  * every pylibsrtp Session aiortc creates has its profile and master key+salt appended to
    $SRTP_KEYLOG (hex), so Captures/tools/decrypt_srtp.py can write a plaintext twin of the pcap;
  * the DTLS context logs NSS key-log lines to $SSLKEYLOGFILE so tshark decrypts the handshake;
  * transport-cc: the transport-wide-cc header extension and the transport-cc rtcp-fb are advertised,
    and aiortc's sender stamps a transport-wide sequence number on every packet, so Chromium sends
    transport-cc feedback (aiortc itself ignores that feedback).
"""
import asyncio
import fractions
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "Peers"))
from peerkit import call as _call, chromium as _chromium, count_frames, restrict_aiortc_to_loopback, serve_page  # noqa: E402
restrict_aiortc_to_loopback()

import av
import aiortc
import aiortc.codecs
import aiortc.rtcdtlstransport as dtls
import aiortc.rtp
from aiortc import (RTCPeerConnection, RTCRtpCodecParameters, RTCSessionDescription,
                    MediaStreamTrack)
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpHeaderExtensionParameters

TWCC_URI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

# --- SRTP key log ---------------------------------------------------------------------------
_PROFILE_NAMES = {
    1: "AES_CM_128_HMAC_SHA1_80", 2: "AES_CM_128_HMAC_SHA1_32",
    7: "AEAD_AES_128_GCM", 8: "AEAD_AES_256_GCM",
}
_OrigSession = dtls.Session


class _LoggingSession(_OrigSession):
    def __init__(self, policy):
        path = os.environ.get("SRTP_KEYLOG")
        if path:
            direction = "inbound" if policy.ssrc_type == policy.SSRC_ANY_INBOUND else "outbound"
            with open(path, "a") as f:
                f.write(f"{_PROFILE_NAMES.get(policy.srtp_profile, policy.srtp_profile)} "
                        f"{bytes(policy.key).hex()} {direction}\n")
        super().__init__(policy)


dtls.Session = _LoggingSession

# --- NSS key log for DTLS ---------------------------------------------------------------------
_orig_ctx = dtls.RTCCertificate._create_ssl_context


def _ctx_with_keylog(self, *a, **kw):
    ctx = _orig_ctx(self, *a, **kw)
    path = os.environ.get("SSLKEYLOGFILE")
    if path:
        def cb(_conn, line):
            with open(path, "ab") as f:
                f.write(line + b"\n")
        ctx.set_keylog_callback(cb)
    return ctx


dtls.RTCCertificate._create_ssl_context = _ctx_with_keylog

# --- transport-cc -----------------------------------------------------------------------------
for kind in ("audio", "video"):
    aiortc.codecs.HEADER_EXTENSIONS[kind].append(RTCRtpHeaderExtensionParameters(id=5, uri=TWCC_URI))
for codec in aiortc.codecs.CODECS["video"] + aiortc.codecs.CODECS["audio"]:
    if codec.mimeType.lower() not in ("video/rtx",):
        codec.rtcpFeedback.append(RTCRtcpFeedback(type="transport-cc"))

_twcc_seq = 0
_orig_serialize = aiortc.rtp.RtpPacket.serialize


def _serialize_with_twcc(self, extensions_map=aiortc.rtp.HeaderExtensionsMap()):
    global _twcc_seq
    ids = getattr(extensions_map, "_HeaderExtensionsMap__ids", None)
    if ids is not None and ids.transport_sequence_number and self.extensions.transport_sequence_number is None:
        self.extensions.transport_sequence_number = _twcc_seq & 0xFFFF
        _twcc_seq += 1
    return _orig_serialize(self, extensions_map)


aiortc.rtp.RtpPacket.serialize = _serialize_with_twcc

# --- media ------------------------------------------------------------------------------------


class MovingPatternTrack(MediaStreamTrack):
    """320x240 video at 30 fps with a moving gradient, so VP8 produces real inter frames."""
    kind = "video"

    def __init__(self):
        super().__init__()
        self._n = 0
        self._start = None
        y, x = np.mgrid[0:240, 0:320]
        self._x, self._y = x, y

    async def recv(self):
        if self._start is None:
            self._start = time.time()
        target = self._start + self._n / 30
        await asyncio.sleep(max(0, target - time.time()))
        t = self._n
        img = np.zeros((240, 320, 3), dtype=np.uint8)
        img[..., 0] = (self._x + 3 * t) % 256
        img[..., 1] = (self._y + 2 * t) % 256
        img[..., 2] = ((self._x + self._y) // 2 + t) % 256
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self._n * 3000
        frame.time_base = fractions.Fraction(1, 90000)
        self._n += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """48 kHz mono 440 Hz tone in 20 ms frames (a tone, not silence, so Opus never goes DTX)."""
    kind = "audio"

    def __init__(self):
        super().__init__()
        self._n = 0
        self._start = None

    async def recv(self):
        if self._start is None:
            self._start = time.time()
        target = self._start + self._n * 0.02
        await asyncio.sleep(max(0, target - time.time()))
        t = (np.arange(960) + self._n * 960) / 48000
        samples = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 48000
        frame.pts = self._n * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 1
        return frame


async def _wait_connected(pc, timeout=15):
    end = time.time() + timeout
    while pc.connectionState != "connected":
        if time.time() > end:
            raise TimeoutError(f"connectionState={pc.connectionState}")
        await asyncio.sleep(0.05)

def _save_sdp(offer, answer):
    """Writes both session descriptions to $SDP_LOG (the ICE credentials let tests verify the captured
    STUN checks' MESSAGE-INTEGRITY and replay them into an ICE agent)."""
    path = os.environ.get("SDP_LOG")
    if path:
        with open(path, "w") as f:
            json.dump({"offer": offer, "answer": answer}, f, indent=1)


# --- aiortc <-> aiortc --------------------------------------------------------------------------


async def aiortc_aiortc(duration):
    pc1, pc2 = RTCPeerConnection(), RTCPeerConnection()
    received = {"audio": 0, "video": 0, "dc": []}

    @pc2.on("track")
    def on_track(track):
        count_frames(track, received)

    @pc2.on("datachannel")
    def on_dc(channel):
        @channel.on("message")
        def on_message(m):
            received["dc"].append(m)
            channel.send(f"echo {m}")

    pc1.addTrack(ToneTrack())
    pc1.addTrack(MovingPatternTrack())
    dc = pc1.createDataChannel("chat")
    echoes = []
    dc.on("message", lambda m: echoes.append(m))

    await pc1.setLocalDescription(await pc1.createOffer())
    await pc2.setRemoteDescription(pc1.localDescription)
    await pc2.setLocalDescription(await pc2.createAnswer())
    await pc1.setRemoteDescription(pc2.localDescription)
    _save_sdp(pc1.localDescription.sdp, pc2.localDescription.sdp)
    await _wait_connected(pc1)
    end = time.time() + duration
    i = 0
    while time.time() < end:
        if dc.readyState == "open" and i < 10:
            dc.send(f"hello from pc1 #{i}")
            i += 1
        await asyncio.sleep(0.5)
    await pc1.close()
    await pc2.close()
    return {"audio_frames": received["audio"], "video_frames": received["video"],
            "dc_messages": len(received["dc"]), "dc_echoes": len(echoes)}

# --- Chromium ------------------------------------------------------------------------------------


def _serve_page():
    return serve_page(HERE)


async def chromium_aiortc(duration):
    httpd = _serve_page()
    driver = _chromium()
    try:
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/page.html")
        offer = _call(driver, "makeOffer()")
        pc = RTCPeerConnection()
        counts = {"audio": 0, "video": 0}

        @pc.on("track")
        def on_track(track):
            if track.kind == "video":
                pc.addTrack(MovingPatternTrack())   # aiortc sends its own video back
            else:
                pc.addTrack(ToneTrack())

            count_frames(track, counts)

        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        _call(driver, f"acceptAnswer({json.dumps(pc.localDescription.sdp)})")
        _save_sdp(offer, pc.localDescription.sdp)
        await _wait_connected(pc)
        await asyncio.sleep(duration)
        stats = _call(driver, "summary()")
        await pc.close()
        stats["aiortc_received"] = counts
        return stats
    finally:
        driver.quit()
        httpd.shutdown()


async def chromium_chromium(duration):
    httpd = _serve_page()
    driver = _chromium()
    try:
        driver.get(f"http://127.0.0.1:{httpd.server_address[1]}/page.html")
        sdps = _call(driver, "loopbackCall()")
        _save_sdp(sdps["offer"], sdps["answer"])
        await asyncio.sleep(duration)
        return _call(driver, "summary()")
    finally:
        driver.quit()
        httpd.shutdown()


if __name__ == "__main__":
    mode, duration = sys.argv[1], float(sys.argv[2])
    fn = {"aiortc-aiortc": aiortc_aiortc, "chromium-aiortc": chromium_aiortc,
          "chromium-chromium": chromium_chromium}[mode]
    result = asyncio.run(asyncio.wait_for(fn(duration), duration + 60))
    print(json.dumps(result, indent=1, default=str))
