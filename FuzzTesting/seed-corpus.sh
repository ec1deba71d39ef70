#!/usr/bin/env bash
# Seeds FuzzTesting/Corpus/<target>/ with distinct datagrams taken from Captures/ (Janus-style corpora
# from real traffic), classified by first byte as RFC 7983 / RFC 5761 prescribe:
#   FuzzSTUN and FuzzICE (STUN), FuzzDTLSRecord (DTLS), FuzzRTP (RTP, all captures), FuzzRTCP (RTCP, decrypted twins
#   only), FuzzRTPCodecs (RTP payloads after the header, from decrypted twins), FuzzSFU (mode-prefixed, see
#   Sources/FuzzSFU/Harness.swift: STUN raw from a validated (0) and an unknown (2) tuple, DTLS raw (1), SRTP raw
#   (0), decrypted RTP protected by the producer (3), decrypted RTCP protected by a consumer (4) and by the
#   producer (6); plus synthetic packets for the harness's own streams: Opus and RID-simulcast VP8 with MID/RID
#   extensions, RTX with repaired-RID, and NACK/PLI/FIR/RR/REMB/SR naming its SSRCs, some with a time step).
# At most $MAX files per target (default 120), chosen reproducibly. Needs tshark; run it after adding
# captures and commit the result.
set -euo pipefail
cd "$(dirname "$0")"
MAX=${MAX:-120}
rm -rf Corpus/FuzzSTUN Corpus/FuzzICE Corpus/FuzzDTLSRecord Corpus/FuzzRTP Corpus/FuzzRTCP Corpus/FuzzRTPCodecs Corpus/FuzzSFU
find ../Captures -name '*.pcap*' -not -path '*/tools/*' | sort | while read -r p; do
  tshark -r "$p" -T fields -e udp.payload 2>/dev/null | sed "s|^|$(basename "$p")\t|"
done | python3 -c '
import hashlib, os, random, sys
MAX = int(sys.argv[1])
buckets = {k: {} for k in ("FuzzSTUN", "FuzzICE", "FuzzDTLSRecord", "FuzzRTP", "FuzzRTCP", "FuzzRTPCodecs", "FuzzSFU")}
sfu = buckets["FuzzSFU"]
for line in sys.stdin:
    parts = line.rstrip("\n").split("\t")
    if len(parts) != 2 or not parts[1]:
        continue
    name, data = parts[0], bytes.fromhex(parts[1])
    plain = name.endswith(".plain.pcap")
    b0 = data[0]
    if b0 <= 3:
        buckets["FuzzSTUN"][data] = 1
        buckets["FuzzICE"][data] = 1
        sfu[bytes([0]) + data] = 1
        sfu[bytes([2]) + data] = 1
    elif 20 <= b0 <= 63:
        buckets["FuzzDTLSRecord"][data] = 1
        sfu[bytes([1]) + data] = 1
    elif 128 <= b0 <= 191 and len(data) >= 12:
        if 192 <= data[1] <= 223:
            if plain:
                buckets["FuzzRTCP"][data] = 1
                sfu[bytes([4]) + data] = 1
                sfu[bytes([6]) + data] = 1
        else:
            buckets["FuzzRTP"][data] = 1
            sfu[bytes([3 if plain else 0]) + data] = 1
            if plain:
                off = 12 + 4 * (b0 & 0x0F)
                if b0 & 0x10 and len(data) >= off + 4:
                    off += 4 + 4 * int.from_bytes(data[off + 2:off + 4], "big")
                end = len(data) - (data[-1] if b0 & 0x20 and data[-1] else 0)
                if off < end:
                    buckets["FuzzRTPCodecs"][data[off:end]] = 1
rng = random.Random(7)
for target, items in buckets.items():
    os.makedirs(f"Corpus/{target}", exist_ok=True)
    keys = sorted(items)
    rng.shuffle(keys)
    for data in keys[:MAX]:
        with open(f"Corpus/{target}/" + hashlib.sha1(data).hexdigest()[:16], "wb") as f:
            f.write(data)
    print(f"seeded {target}: {min(MAX, len(keys))} files (of {len(keys)} distinct)")

# Synthetic FuzzSFU seeds for the streams of the harness (RouterHarness: audio SSRC 0xA0D10, MID "0"; VP8 MID "1",
# RIDs r0-r2 sent with SSRCs 0x51000000+i, RTX 0x51000010+i; extension ids mid 4, audio level 1, rid 10,
# repaired-rid 11; consumer SSRCs 222222222 + 2k in creation order: audio@1, audio@2, video@1, video@2).
import struct
def ext(items):
    body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in items)
    body += b"\0" * (-len(body) % 4)
    return b"\xbe\xde" + struct.pack("!H", len(body) // 4) + body
def rtp(pt, seq, ts, ssrc, exts, payload, marker=False):
    return bytes([0x90, (0x80 if marker else 0) | pt]) + struct.pack("!HII", seq, ts, ssrc) + ext(exts) + payload
def rtcp(pt, fmt, body):
    return bytes([0x80 | fmt, pt]) + struct.pack("!H", len(body) // 4) + body
vp8key = bytes([0x10, 0x00, 0x9D, 0x01, 0x2A]) + bytes(range(200))
vp8delta = bytes([0x10, 0x01, 0x9D, 0x01, 0x2A]) + bytes(range(120))
syn = []
for seq in (1000, 1, 2, 5, 0xFFFF, 0, 0x7FFF):
    syn.append(bytes([3]) + rtp(111, seq, seq * 960, 0xA0D10, [(4, b"0"), (1, b"\x85")], b"\xfc" + bytes(40)))
for layer in range(3):
    rid = b"r%d" % layer
    for seq, payload in ((500, vp8key), (1, vp8delta), (3, vp8delta), (0xFFFE, vp8delta)):
        syn.append(bytes([3]) + rtp(96, seq, seq * 3000, 0x51000000 + layer, [(4, b"1"), (10, rid)], payload, marker=True))
    syn.append(bytes([3]) + rtp(97, 200, 3000, 0x51000010 + layer, [(4, b"1"), (11, rid)], struct.pack("!H", 501) + vp8delta))
    syn.append(bytes([3 | (24 + layer) << 3]) + rtp(96, 1, 3000, 0x51000000 + layer, [(4, b"1"), (10, rid)], vp8delta))
consumers = {1: (222222222, 222222226), 2: (222222224, 222222228)}
for peer, mode in ((1, 4), (2, 5)):
    audio, video = consumers[peer]
    for media in (audio, video):
        syn.append(bytes([mode]) + rtcp(205, 1, struct.pack("!IIHH", 1, media, 3, 0x00FF)))
        syn.append(bytes([mode]) + rtcp(206, 1, struct.pack("!II", 1, media)))
        syn.append(bytes([mode]) + rtcp(206, 4, struct.pack("!IIIB3x", 1, 0, media, 7)))
        syn.append(bytes([mode]) + rtcp(201, 1, struct.pack("!IIIIIII", 1, media, (10 << 24) | 3, 1000, 20, 0, 0)))
        syn.append(bytes([mode | 31 << 3]) + rtcp(201, 1, struct.pack("!IIIIIII", 1, media, (200 << 24) | 50, 1000, 20, 0x12345678, 65536)))
    syn.append(bytes([mode]) + rtcp(206, 15, struct.pack("!II", 1, 0) + b"REMB" + bytes([1, 0x0F, 0x42, 0x40]) + struct.pack("!I", video)))
    syn.append(bytes([mode]) + rtcp(205, 15, struct.pack("!IIHHIBBH", 1, video, 1, 4, 0, 0, 0x20, 4) + bytes(4)))
for ssrc in (0xA0D10, 0x51000000, 0x51000002):
    syn.append(bytes([6]) + rtcp(200, 0, struct.pack("!IIIIII", ssrc, 0xE0000000, 0, 90000, 10, 1000)))
    syn.append(bytes([6 | 26 << 3]) + rtcp(201, 0, struct.pack("!I", ssrc)))
syn.append(bytes([0xFF]))
for data in syn:
    with open("Corpus/FuzzSFU/" + hashlib.sha1(data).hexdigest()[:16], "wb") as f:
        f.write(data)
print(f"seeded FuzzSFU: {len(syn)} synthetic files")
' "$MAX"
