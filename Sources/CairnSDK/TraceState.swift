/// The W3C `tracestate` header: vendor-specific key-value pairs carried along a trace, at most 32.
///
/// See [W3C Trace Context, tracestate](https://www.w3.org/TR/trace-context/#tracestate-header). The header is kept
/// as the text that arrived (with optional whitespace and empty members removed), so that carrying it costs nothing;
/// ``init(header:)`` validates every member and rejects the whole header if one is invalid, as the specification
/// requires.
public struct TraceState: Hashable, Sendable, CustomStringConvertible {
    /// The members as they are written on the wire: `key=value` joined by `,`; empty for no members.
    public private(set) var header: String

    /// The most list members a trace state may have.
    public static let maximumMembers = 32

    /// An empty trace state.
    public init() {
        header = ""
    }

    /// A trace state from one or more `tracestate` header values joined by `,`, or nil when any member breaks the
    /// grammar or there are more than 32 members (duplicate keys keep the first).
    ///
    /// An empty or all-whitespace header gives an empty trace state.
    public init?(header: String) {
        var members: [Substring] = []
        var keys: Set<Substring> = []
        for rawMember in header.split(separator: ",", omittingEmptySubsequences: false) {
            let member = rawMember.trimmingOWS()
            if member.isEmpty { continue }
            guard let equals = member.firstIndex(of: "="),
                Self.isValidKey(member[..<equals]),
                Self.isValidValue(member[member.index(after: equals)...])
            else { return nil }
            if keys.insert(member[..<equals]).inserted { members.append(member) }
        }
        guard members.count <= Self.maximumMembers else { return nil }
        self.header = members.joined(separator: ",")
    }

    /// Whether there are no members.
    public var isEmpty: Bool { header.isEmpty }

    /// The members in order, leftmost (most recently updated) first.
    public var members: [(key: String, value: String)] {
        header.split(separator: ",").map { (member: Substring) -> (key: String, value: String) in
            let equals = member.firstIndex(of: "=")!
            return (String(member[..<equals]), String(member[member.index(after: equals)...]))
        }
    }

    /// The value of a key, or nil.
    public subscript(key: String) -> String? {
        members.first { $0.key == key }?.value
    }

    /// Sets a key's value and moves the member to the left, as the specification requires of a mutation; removes
    /// the rightmost member if there would be more than 32. Returns false, changing nothing, when the key or value
    /// breaks the grammar.
    @discardableResult
    public mutating func setValue(_ value: String, forKey key: String) -> Bool {
        guard Self.isValidKey(Substring(key)), Self.isValidValue(Substring(value)) else { return false }
        var rest = members.filter { $0.key != key }
        if rest.count >= Self.maximumMembers { rest.removeLast(rest.count - Self.maximumMembers + 1) }
        header = ([(key, value)] + rest).map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return true
    }

    /// Removes a key.
    public mutating func removeValue(forKey key: String) {
        header = members.filter { $0.key != key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// The header value.
    public var description: String { header }

    /// `key = ( lcalpha / DIGIT ) 0*255 ( lcalpha / DIGIT / "_" / "-"/ "*" / "/" / "@" )`, the grammar of the
    /// W3C test suite, which admits both simple and multi-tenant (`tenant@system`) keys.
    static func isValidKey(_ key: Substring) -> Bool {
        let bytes = key.utf8
        guard let first = bytes.first, bytes.count <= 256, first.isLowercaseAlphaOrDigit else { return false }
        return bytes.allSatisfy { byte in
            byte.isLowercaseAlphaOrDigit || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
                || byte == UInt8(ascii: "*") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "@")
        }
    }

    /// `value = 0*255(chr) nblk-chr` with `chr = %x20 / nblk-chr` and
    /// `nblk-chr = %x21-2B / %x2D-3C / %x3E-7E`.
    static func isValidValue(_ value: Substring) -> Bool {
        let bytes = value.utf8
        guard let last = bytes.last, bytes.count <= 256, last != 0x20 else { return false }
        return bytes.allSatisfy { byte in
            (0x20...0x7E).contains(byte) && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "=")
        }
    }
}

extension UInt8 {
    var isLowercaseAlphaOrDigit: Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self)
    }

    /// Optional whitespace as HTTP defines it: space or horizontal tab.
    var isOWS: Bool { self == 0x20 || self == 0x09 }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs.
    func trimmingOWS() -> SubSequence {
        var start = startIndex
        var end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" {
            end = index(before: end)
        }
        return self[start..<end]
    }
}
