#!/usr/bin/env python3
"""Writes the plaintext twin of a WebRTC capture: every SRTP/SRTCP datagram that authenticates with one
of the logged master keys is replaced by its RTP/RTCP plaintext; every other frame is copied as is, in
the same order, so frame numbers match the original capture.

  decrypt_srtp.py <capture.pcap[ng]> <keys file> <out.plain.pcap>

The keys file has one line per SRTP session aiortc created: `<profile> <hex key||salt> <direction>`
(written by Captures/tools/peers.py). Each distinct key becomes an inbound pylibsrtp session; a datagram
is tried against each until one authenticates. pylibsrtp bundles its own libsrtp (OpenSSL crypto), an
implementation independent of the Debian libsrtp2 the SFU links. Output is classic pcap with the input's
link type (Ethernet for tshark on lo), IPv4 total length and header checksum recomputed, and the UDP
checksum set to 0 (allowed for IPv4, RFC 768).
"""
import struct
import subprocess
import sys
import tempfile

from pylibsrtp import Error, Policy, Session

PROFILES = {
    "AES_CM_128_HMAC_SHA1_80": Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    "AES_CM_128_HMAC_SHA1_32": Policy.SRTP_PROFILE_AES128_CM_SHA1_32,
    "AEAD_AES_128_GCM": Policy.SRTP_PROFILE_AEAD_AES_128_GCM,
    "AEAD_AES_256_GCM": Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
}


def read_pcap(path):
    with tempfile.NamedTemporaryFile(suffix=".pcap") as tmp:
        subprocess.run(["editcap", "-F", "pcap", path, tmp.name], check=True)
        data = open(tmp.name, "rb").read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    header = data[:24]
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    frames, off = [], 24
    while off + 16 <= len(data):
        ts1, ts2, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        frames.append([data[off:off + 16], data[off + 16:off + 16 + incl]])
        off += 16 + incl
    return header, endian, linktype, frames


def ipv4_checksum(hdr):
    s = sum(struct.unpack("!%dH" % (len(hdr) // 2), hdr))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return (~s) & 0xFFFF


def main():
    src, keys_path, out = sys.argv[1:4]
    sessions = []
    seen = set()
    for line in open(keys_path):
        parts = line.split()
        if len(parts) < 2 or parts[1] in seen:
            continue
        seen.add(parts[1])
        p = Policy(key=bytes.fromhex(parts[1]), ssrc_type=Policy.SSRC_ANY_INBOUND,
                   srtp_profile=PROFILES[parts[0]])
        p.window_size = 1024
        p.allow_repeat_tx = True
        sessions.append(Session(p))
    header, endian, linktype, frames = read_pcap(src)
    if linktype != 1:
        sys.exit(f"unsupported link type {linktype} (expected Ethernet from tshark -i lo)")
    cache = {}
    stats = {"rtp_ok": 0, "rtp_fail": 0, "rtcp_ok": 0, "rtcp_fail": 0}
    for frame in frames:
        rec, pkt = frame
        if len(pkt) < 14 + 20 + 8 or pkt[12:14] != b"\x08\x00":
            continue
        ihl = (pkt[14] & 0x0F) * 4
        if pkt[14 + 9] != 17:
            continue
        udp = 14 + ihl
        payload = pkt[udp + 8:]
        if len(payload) < 12 or not (128 <= payload[0] <= 191):
            continue
        is_rtcp = 192 <= payload[1] <= 223
        kind = "rtcp" if is_rtcp else "rtp"
        plain = cache.get(payload)
        if plain is None:
            for s in sessions:
                try:
                    plain = s.unprotect_rtcp(payload) if is_rtcp else s.unprotect(payload)
                    break
                except Error:
                    continue
        if plain is None:
            stats[kind + "_fail"] += 1
            continue
        cache[payload] = plain
        stats[kind + "_ok"] += 1
        ip = bytearray(pkt[14:14 + ihl])
        struct.pack_into("!H", ip, 2, ihl + 8 + len(plain))
        struct.pack_into("!H", ip, 10, 0)
        struct.pack_into("!H", ip, 10, ipv4_checksum(bytes(ip)))
        udph = bytearray(pkt[udp:udp + 8])
        struct.pack_into("!HH", udph, 4, 8 + len(plain), 0)
        newpkt = pkt[:14] + bytes(ip) + bytes(udph) + plain
        ts1, ts2, _, _ = struct.unpack(endian + "IIII", rec)
        frame[0] = struct.pack(endian + "IIII", ts1, ts2, len(newpkt), len(newpkt))
        frame[1] = newpkt
    with open(out, "wb") as f:
        f.write(header)
        for rec, pkt in frames:
            f.write(rec)
            f.write(pkt)
    print(f"decrypt_srtp: {len(frames)} frames; SRTP decrypted {stats['rtp_ok']}, not decrypted "
          f"{stats['rtp_fail']}; SRTCP decrypted {stats['rtcp_ok']}, not decrypted {stats['rtcp_fail']}")


if __name__ == "__main__":
    main()
