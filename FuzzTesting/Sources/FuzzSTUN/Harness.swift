import NIOCore
import STUN

/// Parses arbitrary bytes as a STUN message. Whatever parses must re-encode byte-identically,
/// re-parse to an equal value, and survive every accessor and the integrity/fingerprint checks; a
/// builder copy of its attributes must parse again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = ByteBuffer(bytes: UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    guard let m = try? STUNMessage(parsing: bytes) else { return 0 }
    guard m.encoded() == bytes else { fatalError("re-encoding differs") }
    guard let again = try? STUNMessage(parsing: m.encoded()), again == m else { fatalError("re-parse differs") }
    _ = (m.type.method, m.type.messageClass, m.transactionID, m.length, m.username, m.software, m.realm, m.nonce)
    _ = (m.priority, m.useCandidate, m.iceControlling, m.iceControlled, m.nomination, m.fingerprint)
    _ = (m.messageIntegrity, m.errorCode, m.unknownAttributes, m.xorMappedAddress, m.mappedAddress)
    _ = m.unknownComprehensionRequired(known: [.username, .priority])
    _ = m.verifyFingerprint()
    let key = STUNIntegrityKey(shortTermPassword: "fuzz")
    _ = m.verifyMessageIntegrity(key: key)
    _ = m.verifyMessageIntegritySHA256(key: key)
    var b = STUNMessageBuilder(type: m.type, transactionID: m.transactionID)
    for a in m.attributes where a.type != .messageIntegrity && a.type != .fingerprint && a.type != .messageIntegritySHA256 {
        b.append(a.type, value: Array(a.value.readableBytesView))
    }
    b.appendMessageIntegrity(key: key)
    b.appendFingerprint()
    guard let rebuilt = try? STUNMessage(parsing: b.message.bytes), rebuilt.verifyMessageIntegrity(key: key),
          rebuilt.verifyFingerprint() else { fatalError("rebuilt message invalid") }
    _ = STUNMessage.bindingSuccess(to: m, source: .v4(address: 1, port: 2), key: key)
    return 0
}
