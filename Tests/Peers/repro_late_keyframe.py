#!/usr/bin/env python3
"""Reproduces, deterministically, a forwarding flaw found with the aiortc participant (run inside netns.sh with
SFU_BINARY set; prints one JSON object):

  A consumer that waits for a key frame (new consumer, resume, simulcast layer switch) starts forwarding at the
  key frame's FIRST packet. If that packet is lost on the way in and comes back by RTX after later packets of the
  same layer arrived, those later packets were already discarded (still waiting), and the segment's sequence
  offset is taken from the late key-frame packet, so their outgoing sequence numbers are never sent: the receiver
  NACKs them in vain and the next frame, which references the discarded one, cannot be decoded until another key
  frame.

Participant A (aiortc, camera only) is alone in the call; then its sender is armed to withhold the next VP8 key
frame's first packet once (it stays in aiortc's history, so the server's NACK gets it resent by RTX), and
participant B (aiortc, receive only) joins, which makes the server ask A for a key frame. The JSON lists the
sequence numbers B asked for that never arrived ("holes") and B's decoded frames (aiortc's default 512-packet
jitter buffer: a hole stalls it). A fixed server yields no holes.
"""
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import aiortc.rtcrtpreceiver as R, aiortc.rtcdtlstransport as D, aiortc.rtcrtpsender as S
from call_peer import Server
from aiortc_participant import ParticipantThread, mint_jwt
lock = threading.Lock()
log = []
def w(s):
    with lock: log.append(f"{time.monotonic():.4f} {s}")
def vp8(payload):
    try:
        b = payload[0]; x = b & 0x80; start = (b & 0x10) and (b & 0x07) == 0; i = 1
        if x:
            e = payload[1]; i = 2
            if e & 0x80: i += 2 if payload[i] & 0x80 else 1
            if e & 0x40: i += 1
            if e & 0x30: i += 1
        if not start: return ''
        return 'P' if payload[i] & 1 else 'KEY'
    except Exception:
        return '?'
armed = {"on": False, "dropped": None}
orig_send = D.RTCDtlsTransport._send_rtp
async def send_rtp(self, data):
    if len(data) > 12 and not (192 <= data[1] <= 223) and (data[1] & 0x7f) == 97:
        seq = int.from_bytes(data[2:4], 'big')
        # RTP header: 12 bytes + CSRC + extension
        cc = data[0] & 0x0f; off = 12 + 4 * cc
        if data[0] & 0x10:
            off += 4 + 4 * int.from_bytes(data[off + 2:off + 4], 'big')
        kind = vp8(data[off:])
        w(f"A-SEND seq={seq} m={data[1] >> 7} vp8={kind}")
        if armed["on"] and kind == 'KEY':
            armed["on"] = False; armed["dropped"] = seq
            w(f"A-DROPPED seq={seq}")
            return
    return await orig_send(self, data)
D.RTCDtlsTransport._send_rtp = send_rtp
orig_rtx = S.RTCRtpSender._retransmit
async def retransmit(self, seq):
    w(f"A-RETRANSMIT seq={seq}")
    return await orig_rtx(self, seq)
S.RTCRtpSender._retransmit = retransmit
orig = R.RTCRtpReceiver._handle_rtp_packet
async def traced(self, packet, arrival_time_ms):
    if packet.payload_type in (101, 102):
        extra = f"osn={int.from_bytes(packet.payload[:2], 'big')}" if packet.payload_type == 102 else f"vp8={vp8(packet.payload)}"
        w(f"B-RECV pt={packet.payload_type} seq={packet.sequence_number} m={packet.marker} {extra}")
    return await orig(self, packet, arrival_time_ms)
R.RTCRtpReceiver._handle_rtp_packet = traced
orig_nack = R.RTCRtpReceiver._send_rtcp_nack
async def nack(self, media_ssrc, lost):
    w(f"B-NACK lost={lost}")
    return await orig_nack(self, media_ssrc, lost)
R.RTCRtpReceiver._send_rtcp_nack = nack
orig_pli = R.RTCRtpReceiver._send_rtcp_pli
async def pli(self, media_ssrc):
    w(f"B-PLI")
    return await orig_pli(self, media_ssrc)
R.RTCRtpReceiver._send_rtcp_pli = pli
server = Server({})
try:
    ch = server.channel()
    url = f"ws://127.0.0.1:{server.port}"
    a = ParticipantThread(url, mint_jwt(ch, 1), ch, session_id=1, audio=False, video_jitter_capacity=None)
    time.sleep(3)
    w("ARM"); armed["on"] = True
    b = ParticipantThread(url, mint_jwt(ch, 2), ch, session_id=2, video=False, audio=False, video_jitter_capacity=None)
    time.sleep(float(os.environ.get("SECS", 6)))
    sb, sa = b.summary(), a.summary()
    a.close()
    b.close()
    received = {int(line.split("seq=")[1].split()[0]) for line in log if " B-RECV pt=101 " in line}
    received |= {int(line.split("osn=")[1].split()[0]) for line in log if " B-RECV pt=102 " in line and "osn=" in line}
    asked = sorted({int(s) for line in log if " B-NACK " in line for s in line.split("lost=[")[1].rstrip("]").split(", ") if s})
    start = log.index(next(line for line in log if line.endswith(" ARM")))
    print(json.dumps({"withheldKeyFramePacket": armed["dropped"], "holes": [s for s in asked if s not in received],
                      "B": [{k: c[k] for k in ("type", "frames", "packetsReceived", "packetsLost", "sentToServer")} for c in sb["consumers"]],
                      "A": sa["feedbackFromServer"], "trace": [line for line in log[start:start + 14]]}))
finally:
    server.stop()
