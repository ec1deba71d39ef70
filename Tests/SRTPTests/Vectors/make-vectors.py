#!/usr/bin/env python3
"""Writes srtp-vectors.json: SRTP and SRTCP packets protected by pylibsrtp (its bundled libsrtp, built on
OpenSSL crypto — an implementation independent of the Debian libsrtp2/NSS build the SFU links) for each
DTLS-SRTP profile, with fixed keys. The Swift tests protect the same plaintexts and must produce the same
bytes, and must unprotect these.   Usage: python3 make-vectors.py > srtp-vectors.json

Every packet pylibsrtp produces is also recomputed here from the RFCs with plain AES/HMAC primitives from
`cryptography` (key derivation RFC 3711 §4.3 checked against Appendix B.3 first; AES-CM + HMAC-SHA1 RFC 3711
§4.1.1/§4.2 and §3.4; AEAD-GCM RFC 7714 §8-§9 and §11), and the script refuses to write vectors on any
difference. That makes the vectors a known-answer test that does not rest on libsrtp alone; in particular the
stream 0x0a0b0c0d crosses the sequence-number wrap (65534, 65535, 0, 1), so its last two packets are only
right if the rollover counter (ROC = 1) enters the IV and, for AES-CM, the authenticated data.
"""
import hashlib
import hmac
import json

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pylibsrtp import Policy, Session

PROFILES = {
    "AEAD_AES_256_GCM": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32, 12),
    "AEAD_AES_128_GCM": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16, 12),
    "AES_CM_128_HMAC_SHA1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16, 14),
    "AES_CM_128_HMAC_SHA1_32": (Policy.SRTP_PROFILE_AES128_CM_SHA1_32, 16, 14),
}


# ---- an independent reference, straight from the RFCs ----

def aes_ctr(key, block, data):
    enc = Cipher(algorithms.AES(key), modes.CTR(block)).encryptor()
    return enc.update(data) + enc.finalize()


def derive(master_key, master_salt, label, length):
    """RFC 3711 §4.3.1/§4.3.3 with key_derivation_rate 0: AES-CM keystream over x = label<<48 XOR salt.
    A 96-bit AEAD master salt (RFC 7714 §11) takes the high-order end of the 112-bit field."""
    salt = master_salt.ljust(14, b"\0")
    x = int.from_bytes(salt, "big") ^ (label << 48)
    return aes_ctr(master_key, x.to_bytes(14, "big") + b"\0\0", bytes(length))


B3_KEY, B3_SALT = bytes.fromhex("E1F97A0D3E018BE0D64FA32C06DE4139"), bytes.fromhex("0EC675AD498AFEEBB6960B3AABE6")
assert derive(B3_KEY, B3_SALT, 0, 16).hex() == "c61e7a93744f39ee10734afe3ff7a087"
assert derive(B3_KEY, B3_SALT, 1, 20).hex() == "cebe321f6ff7716b6fd4ab49af256a156d38baa4"
assert derive(B3_KEY, B3_SALT, 2, 14).hex() == "30cbbc08863d8c85d49db34a9ae1"


def xor(a, b):
    return bytes(x ^ y for x, y in zip(a, b))


def reference_srtp(name, key, salt, packet, roc):
    """Packets here have a bare 12-byte header (no CSRC, no extension)."""
    header, payload = packet[:12], packet[12:]
    if name.startswith("AEAD"):
        k, s = derive(key, salt, 0, len(key)), derive(key, salt, 2, 12)
        iv = xor(bytes(2) + packet[8:12] + roc.to_bytes(4, "big") + packet[2:4], s)
        return header + AESGCM(k).encrypt(iv, payload, header)
    k, a, s = derive(key, salt, 0, 16), derive(key, salt, 1, 20), derive(key, salt, 2, 14)
    index = (roc << 16) | int.from_bytes(packet[2:4], "big")
    iv = (int.from_bytes(s, "big") << 16) ^ (int.from_bytes(packet[8:12], "big") << 64) ^ (index << 16)
    protected = header + aes_ctr(k, iv.to_bytes(16, "big"), payload)
    tag = hmac.new(a, protected + roc.to_bytes(4, "big"), hashlib.sha1).digest()
    return protected + tag[: 4 if name.endswith("_32") else 10]


def reference_srtcp(name, key, salt, packet, index):
    """SRTCP always encrypted (E = 1); the _32 profile still uses an 80-bit SRTCP tag (RFC 5764 §4.1.2)."""
    e_index = (0x8000_0000 | index).to_bytes(4, "big")
    if name.startswith("AEAD"):
        k, s = derive(key, salt, 3, len(key)), derive(key, salt, 5, 12)
        iv = xor(bytes(2) + packet[4:8] + bytes(2) + index.to_bytes(4, "big"), s)
        return packet[:8] + AESGCM(k).encrypt(iv, packet[8:], packet[:8] + e_index) + e_index
    k, a, s = derive(key, salt, 3, 16), derive(key, salt, 4, 20), derive(key, salt, 5, 14)
    iv = (int.from_bytes(s, "big") << 16) ^ (int.from_bytes(packet[4:8], "big") << 64) ^ (index << 16)
    protected = packet[:8] + aes_ctr(k, iv.to_bytes(16, "big"), packet[8:]) + e_index
    return protected + hmac.new(a, protected, hashlib.sha1).digest()[:10]


# ---- the vectors ----

def rtp(seq, ssrc, payload):
    return bytes([0x80, 0x60]) + seq.to_bytes(2, "big") + (seq * 3000).to_bytes(4, "big") + ssrc.to_bytes(4, "big") + payload


def rtcp_rr(ssrc):
    return bytes.fromhex("81c90007") + ssrc.to_bytes(4, "big") + bytes.fromhex("0000000100000000000000100000000200000000000000000000")[:24]


out = []
for name, (profile, klen, slen) in PROFILES.items():
    key = bytes(range(1, klen + 1))
    salt = bytes(range(0xA0, 0xA0 + slen))
    session = Session(Policy(key=key + salt, ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    # (packet, ROC the sender must use)
    packets = [(rtp(1, 0x11223344, bytes(range(20))), 0), (rtp(2, 0x11223344, b"x" * 100), 0),
               (rtp(3, 0x55667788, b"\x00" * 1200), 0)]
    packets += [(rtp(seq, 0x0A0B0C0D, bytes(range(40))), roc) for seq, roc in [(65534, 0), (65535, 0), (0, 1), (1, 1)]]
    rtcps = [rtcp_rr(0x11223344), rtcp_rr(0x11223344)]
    rtp_pairs = []
    for p, roc in packets:
        protected = session.protect(p)
        assert protected == reference_srtp(name, key, salt, p, roc), f"{name} SRTP seq {p[2:4].hex()}"
        rtp_pairs.append({"plain": p.hex(), "protected": protected.hex()})
    rtcp_pairs = []
    for n, p in enumerate(rtcps):
        protected = session.protect_rtcp(p)
        assert protected == reference_srtcp(name, key, salt, p, n + 1), f"{name} SRTCP #{n + 1}"   # index starts at 1
        rtcp_pairs.append({"plain": p.hex(), "protected": protected.hex()})
    out.append({"profile": name, "key": key.hex(), "salt": salt.hex(), "rtp": rtp_pairs, "rtcp": rtcp_pairs})
print(json.dumps(out, indent=1))
