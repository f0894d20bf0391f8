public import Instrumentation

/// User-defined name-value pairs propagated with a request: the W3C `baggage` header.
///
/// See [W3C Baggage](https://www.w3.org/TR/baggage/). Values are percent-decoded when parsed and percent-encoded when
/// written; member properties (`;key` or `;key=value`) are kept as they arrived. At most 64 members and 8192 bytes
/// of header are kept; members past either limit, and members that break the grammar, are dropped.
/// A `ServiceContext` carries it under ``ServiceContext/baggage``.
public struct Baggage: Hashable, Sendable {
    /// One list member.
    public struct Member: Hashable, Sendable {
        /// An HTTP token (RFC 7230 `token`).
        public var key: String
        /// The decoded value.
        public var value: String
        /// The properties after the value, each as written (`key` or `key=value`), without surrounding spaces.
        public var properties: [String]

        /// A member from its parts; `value` is the decoded text.
        public init(key: String, value: String, properties: [String] = []) {
            self.key = key
            self.value = value
            self.properties = properties
        }
    }

    /// The most members kept.
    public static let maximumMembers = 64
    /// The longest header kept, in bytes.
    public static let maximumHeaderBytes = 8192

    /// The members in order.
    public private(set) var members: [Member]

    /// Empty baggage.
    public init() {
        members = []
    }

    /// Baggage from members; later members replace earlier ones with the same key.
    public init(_ members: [Member]) {
        self.members = []
        for member in members { set(member) }
    }

    /// Parses a `baggage` header value (several headers joined by `,`), dropping invalid members and members past
    /// the limits.
    public init(header: String) {
        members = []
        var bytes = 0
        for rawMember in header.split(separator: ",") {
            guard members.count < Self.maximumMembers else { break }
            let text = rawMember.trimmingOWS()
            guard !text.isEmpty, let member = Self.parseMember(text) else { continue }
            let size = text.utf8.count + (members.isEmpty ? 0 : 1)
            guard bytes + size <= Self.maximumHeaderBytes else { break }
            bytes += size
            set(member)
        }
    }

    /// Whether there are no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The value of a key; setting nil removes the member, setting a value keeps the member's properties.
    public subscript(key: String) -> String? {
        get { members.first { $0.key == key }?.value }
        set {
            if let newValue {
                let properties = members.first { $0.key == key }?.properties ?? []
                set(Member(key: key, value: newValue, properties: properties))
            } else {
                members.removeAll { $0.key == key }
            }
        }
    }

    /// Adds a member, or replaces the member with its key in place.
    public mutating func set(_ member: Member) {
        if let index = members.firstIndex(where: { $0.key == member.key }) {
            members[index] = member
        } else {
            members.append(member)
        }
    }

    /// The header value: members whose key is not an HTTP token are left out, values are percent-encoded, and
    /// members past 64 or 8192 bytes are dropped.
    public var header: String {
        var text = ""
        var count = 0
        for member in members where Self.isToken(Substring(member.key)) {
            var encoded = member.key + "=" + Self.percentEncode(member.value)
            for property in member.properties { encoded += ";" + property }
            let size = encoded.utf8.count + (count == 0 ? 0 : 1)
            guard count < Self.maximumMembers, text.utf8.count + size <= Self.maximumHeaderBytes else { break }
            text += count == 0 ? encoded : "," + encoded
            count += 1
        }
        return text
    }

    private static func parseMember(_ text: Substring) -> Member? {
        let parts = text.split(separator: ";", omittingEmptySubsequences: false)
        let pair = parts[0]
        guard let equals = pair.firstIndex(of: "=") else { return nil }
        let key = pair[..<equals].trimmingOWS()
        let value = pair[pair.index(after: equals)...].trimmingOWS()
        guard isToken(key), value.utf8.allSatisfy(isBaggageOctet) else { return nil }
        var properties: [String] = []
        for rawProperty in parts.dropFirst() {
            let property = rawProperty.trimmingOWS()
            if let equals = property.firstIndex(of: "=") {
                let propertyKey = property[..<equals].trimmingOWS()
                let propertyValue = property[property.index(after: equals)...].trimmingOWS()
                guard isToken(propertyKey), propertyValue.utf8.allSatisfy(isBaggageOctet) else { return nil }
                properties.append("\(propertyKey)=\(propertyValue)")
            } else {
                guard isToken(property) else { return nil }
                properties.append(String(property))
            }
        }
        return Member(key: String(key), value: percentDecode(value), properties: properties)
    }

    /// RFC 7230 `token`: one or more `tchar`.
    static func isToken(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default: Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
            }
        }
    }

    /// `baggage-octet = %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
    static func isBaggageOctet(_ byte: UInt8) -> Bool {
        byte == 0x21 || (0x23...0x2B).contains(byte) || (0x2D...0x3A).contains(byte) || (0x3C...0x5B).contains(byte)
            || (0x5D...0x7E).contains(byte)
    }

    static func percentEncode(_ value: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count)
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in value.utf8 {
            if isBaggageOctet(byte) && byte != UInt8(ascii: "%") {
                bytes.append(byte)
            } else {
                bytes.append(UInt8(ascii: "%"))
                bytes.append(digits[Int(byte >> 4)])
                bytes.append(digits[Int(byte & 0xF)])
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Decodes `%XX` sequences; a `%` without two hexadecimal digits stays as it is, and byte sequences that are not
    /// UTF-8 become U+FFFD, as the specification requires.
    static func percentDecode(_ text: some StringProtocol) -> String {
        let input = Array(text.utf8)
        guard input.contains(UInt8(ascii: "%")) else { return String(text) }
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var index = 0
        while index < input.count {
            if input[index] == UInt8(ascii: "%"), index + 2 < input.count,
                let high = hexValue(input[index + 1]), let low = hexValue(input[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(input[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

enum BaggageKey: ServiceContextKey {
    typealias Value = Baggage
    static var nameOverride: String? { "baggage" }
}

extension ServiceContext {
    /// The W3C baggage of the request, set by `extract` and written by `inject`; nil when there is none.
    public var baggage: Baggage? {
        get { self[BaggageKey.self] }
        set { self[BaggageKey.self] = newValue }
    }
}
