import ICE
import NIOCore
import STUN

/// Feeds arbitrary bytes to an ICE-lite agent (as a UDP datagram and as an ICE-TCP stream) and checks
/// that whatever it answers is a well-formed STUN response to the same transaction.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    let agent = ICELiteAgent(credentials: ICECredentials(usernameFragment: "fuzz", password: "fuzz-password-0123456789ab"))
    let tuple = ICETuple(remote: .v4(address: 0x7F00_0001, port: 9))
    agent.handle(Datagram(bytes, from: tuple), now: .seconds(1))
    if let response = agent.pollTransmit() {
        guard response.destination == tuple, let r = try? STUNMessage(parsing: response.bytes), r.verifyFingerprint(),
              let request = try? STUNMessage(parsing: bytes), r.transactionID == request.transactionID else {
            fatalError("agent answered with a malformed response")
        }
    }
    guard agent.pollTransmit() == nil else { fatalError("agent answered one datagram twice") }
    agent.handleTimeout(now: .seconds(40))
    var framer = RFC4571Framer(maxPacketLength: 1500)
    framer.feed(bytes)
    while let packet = try? framer.nextPacket() { agent.handle(Datagram(packet, from: ICETuple(remote: tuple.remote, transport: .tcp)), now: .seconds(2)) }
    return 0
}
