/// What a ``RouterID`` names; only to keep transport, producer and consumer ids apart at compile time.
public protocol RouterObjectKind: Sendable {
    /// Prefix of the id's description ("t3", "p5", "c7").
    static var prefix: String { get }
}

/// A small integer id a ``MediaRouter`` hands out when it creates a transport, producer or consumer (never
/// reused within one router). Ids are plain integers so that nothing on the packet path hashes a string;
/// the signalling layer keeps its own names (mediasoup's UUIDs) and maps them once per command.
public struct RouterID<Kind: RouterObjectKind>: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number.
    public let rawValue: UInt32
    /// The id with number `rawValue`.
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { Kind.prefix + String(rawValue) }
}

/// Tag of ``TransportID``.
public enum TransportKind: RouterObjectKind { public static let prefix = "t" }
/// Tag of ``ProducerID``.
public enum ProducerKind: RouterObjectKind { public static let prefix = "p" }
/// Tag of ``ConsumerID``.
public enum ConsumerKind: RouterObjectKind { public static let prefix = "c" }

/// A transport of a ``MediaRouter``.
public typealias TransportID = RouterID<TransportKind>
/// A producer of a ``MediaRouter``.
public typealias ProducerID = RouterID<ProducerKind>
/// A consumer of a ``MediaRouter``.
public typealias ConsumerID = RouterID<ConsumerKind>
