/// An `http://host:port/path` URL, the only form the load generator speaks.
struct TargetURL: Sendable, CustomStringConvertible {
    var host: String
    var port: Int
    var path: String

    /// Parses `http://host[:port][/path]`; the port defaults to 80 and the path to `/v1/traces`.
    init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            path = String(rest[slash...])
        } else {
            authority = rest
            path = "/v1/traces"
        }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let afterHost = authority[authority.index(after: close)...]
            if afterHost.isEmpty {
                port = 80
            } else if afterHost.hasPrefix(":"), let number = Int(afterHost.dropFirst()) {
                port = number
            } else {
                return nil
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]) else { return nil }
            port = number
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty, (1...65_535).contains(port) else { return nil }
    }

    /// The value of the `Host` header.
    var hostHeader: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var description: String { "http://\(hostHeader)\(path)" }
}
