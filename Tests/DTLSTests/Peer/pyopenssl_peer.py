#!/usr/bin/env python3
"""An independent DTLS peer for the DTLS interop test: pyOpenSSL over the OpenSSL 4 that the
`cryptography` wheel bundles (the same stack aiortc uses), on memory BIOs, talking over stdin/stdout.

Protocol (one line each): the Swift test writes `HELLO <role> <sha-256 fingerprint of its certificate>`;
this script answers `FP <its sha-256 fingerprint>`. Then, repeatedly, the test writes zero or more
`D <hex datagram>` lines followed by `GO`; the script feeds them, advances the handshake, and answers
with zero or more `D <hex>` lines, then `K <profile> <hex keying material>` once connected (and
`X <reason>` on failure), then `END`.
"""
import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
import datetime
from OpenSSL import SSL, crypto

KEY_LENGTHS = {b"SRTP_AEAD_AES_256_GCM": 88, b"SRTP_AEAD_AES_128_GCM": 56,
               b"SRTP_AES128_CM_SHA1_80": 60, b"SRTP_AES128_CM_SHA1_32": 60}


def certificate():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyopenssl-peer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    return crypto.X509.from_cryptography(cert), crypto.PKey.from_cryptography_key(key)


def main():
    hello = sys.stdin.readline().split()
    role, expected = hello[1], hello[2].upper()
    cert, key = certificate()
    ctx = SSL.Context(SSL.DTLS_METHOD)
    ctx.use_certificate(cert)
    ctx.use_privatekey(key)
    ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *args: True)
    ctx.set_tlsext_use_srtp(b"SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM")
    conn = SSL.Connection(ctx, None)
    if role == "client":
        conn.set_connect_state()
    else:
        conn.set_accept_state()
    print("FP", cert.digest("sha256").decode(), flush=True)
    connected = False
    while True:
        line = sys.stdin.readline()
        if not line:
            return
        if line.startswith("D "):
            conn.bio_write(bytes.fromhex(line[2:].strip()))
            continue
        if not connected:
            try:
                conn.do_handshake()
                connected = True
            except SSL.WantReadError:
                pass
            except SSL.Error as e:
                print("X", str(e).replace("\n", " "), flush=True)
        try:
            while True:
                out = conn.bio_read(65536)
                print("D", out.hex(), flush=True)
        except SSL.WantReadError:
            pass
        if connected:
            peer = conn.get_peer_certificate().digest("sha256").decode().upper()
            if peer != expected:
                print("X fingerprint mismatch", flush=True)
            else:
                profile = conn.get_selected_srtp_profile()
                material = conn.export_keying_material(b"EXTRACTOR-dtls_srtp", KEY_LENGTHS[profile])
                print("K", profile.decode(), material.hex(), flush=True)
        print("END", flush=True)


if __name__ == "__main__":
    main()
