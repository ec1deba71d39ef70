#!/usr/bin/env python3
"""Writes srtp-vectors.json: SRTP and SRTCP packets protected by pylibsrtp (its bundled libsrtp, built on
OpenSSL crypto — an implementation independent of the Debian libsrtp2/NSS build the SFU links) for each
DTLS-SRTP profile, with fixed keys. The Swift tests protect the same plaintexts and must produce the same
bytes, and must unprotect these.   Usage: python3 make-vectors.py > srtp-vectors.json
"""
import json
from pylibsrtp import Policy, Session

PROFILES = {
    "AEAD_AES_256_GCM": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    "AEAD_AES_128_GCM": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    "AES_CM_128_HMAC_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    "AES_CM_128_HMAC_SHA1_32": (Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
}


def rtp(seq, ssrc, payload):
    return bytes([0x80, 0x60]) + seq.to_bytes(2, "big") + (seq * 3000).to_bytes(4, "big") + ssrc.to_bytes(4, "big") + payload


def rtcp_rr(ssrc):
    return bytes.fromhex("81c90007") + ssrc.to_bytes(4, "big") + bytes.fromhex("0000000100000000000000100000000200000000000000000000")[:24]


out = []
for name, (profile, klen, slen) in PROFILES.items():
    key = bytes(range(1, klen + 1))
    salt = bytes(range(0xA0, 0xA0 + slen))
    session = Session(Policy(key=key + salt, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    packets = [rtp(1, 0x11223344, bytes(range(20))), rtp(2, 0x11223344, b"x" * 100), rtp(3, 0x55667788, b"\x00" * 1200)]
    rtcps = [rtcp_rr(0x11223344), rtcp_rr(0x11223344)]
    out.append({
        "profile": name, "key": key.hex(), "salt": salt.hex(),
        "rtp": [{"plain": p.hex(), "protected": session.protect(p).hex()} for p in packets],
        "rtcp": [{"plain": p.hex(), "protected": session.protect_rtcp(p).hex()} for p in rtcps],
    })
print(json.dumps(out, indent=1))
