#!/usr/bin/env bash
# Seeds FuzzTesting/Corpus/<target>/ with distinct datagrams taken from Captures/ (Janus-style corpora
# from real traffic), classified by first byte as RFC 7983 / RFC 5761 prescribe:
#   FuzzSTUN and FuzzICE (STUN), FuzzDTLSRecord (DTLS), FuzzRTP (RTP, all captures), FuzzRTCP (RTCP, decrypted twins
#   only), FuzzRTPCodecs (RTP payloads after the header, from decrypted twins).
# At most $MAX files per target (default 120), chosen reproducibly. Needs tshark; run it after adding
# captures and commit the result.
set -euo pipefail
cd "$(dirname "$0")"
MAX=${MAX:-120}
rm -rf Corpus/FuzzSTUN Corpus/FuzzICE Corpus/FuzzDTLSRecord Corpus/FuzzRTP Corpus/FuzzRTCP Corpus/FuzzRTPCodecs
find ../Captures -name '*.pcap*' -not -path '*/tools/*' | sort | while read -r p; do
  tshark -r "$p" -T fields -e udp.payload 2>/dev/null | sed "s|^|$(basename "$p")\t|"
done | python3 -c '
import hashlib, os, random, sys
MAX = int(sys.argv[1])
buckets = {k: {} for k in ("FuzzSTUN", "FuzzICE", "FuzzDTLSRecord", "FuzzRTP", "FuzzRTCP", "FuzzRTPCodecs")}
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
    elif 20 <= b0 <= 63:
        buckets["FuzzDTLSRecord"][data] = 1
    elif 128 <= b0 <= 191 and len(data) >= 12:
        if 192 <= data[1] <= 223:
            if plain:
                buckets["FuzzRTCP"][data] = 1
        else:
            buckets["FuzzRTP"][data] = 1
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
' "$MAX"
