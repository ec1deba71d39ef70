import DTLS
import NIOCore

nonisolated(unsafe) let certificate = try! DTLSCertificate.generate(commonName: "fuzz")
nonisolated(unsafe) let context = try! DTLSContext(certificate: certificate)

/// Parses arbitrary bytes as DTLS records (headers must stay inside the datagram; packing must keep
/// every byte), then feeds them to a fresh server connection, which must neither trap nor emit a
/// datagram larger than the MTU.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    if let records = try? DTLSRecordHeader.records(in: bytes) {
        guard records.allSatisfy({ $0.offset + 13 + Int($0.header.length) <= size }) else { fatalError("record outside datagram") }
        let packed = DTLSRecordHeader.packIntoDatagrams(bytes, mtu: 200)
        guard packed.reduce(0, { $0 + $1.readableBytes }) == size else { fatalError("packing lost bytes") }
    }
    let server = try! DTLSConnection(context: context, role: .server, remoteFingerprints: [certificate.fingerprint()!])
    server.handle(bytes, now: .zero)
    while let d = server.pollTransmit() { guard d.readableBytes <= 1200 || (try? DTLSRecordHeader.records(in: d))?.count == 1 else { fatalError("datagram over MTU") } }
    while server.pollEvent() != nil {}
    return 0
}
