import Foundation
import PostgresNIO

/// A store URL, `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require][&pool_max_conns=N]`
/// (or `postgresql://`), as libpq reads it: the port defaults to 5432, the database to the user's name, and `sslmode`
/// to `prefer` (TLS when the server offers it). `require` encrypts without checking the server's certificate, as
/// libpq's `require` does. `pool_max_conns` (the name pgx gives it) caps the connections the store opens, instead of
/// `PostgresStore.Configuration.maximumConnections`.
struct PostgresURL: Sendable {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var sslMode: String
    /// `pool_max_conns`, when given: 1 or more.
    var poolMaxConnections: Int?

    init(_ text: String) throws {
        guard let components = URLComponents(string: text) else {
            throw PostgresStoreError.invalidURL(text, reason: "it does not parse as a URL")
        }
        guard let scheme = components.scheme, scheme == "postgres" || scheme == "postgresql" else {
            throw PostgresStoreError.invalidURL(text, reason: "its scheme is not postgres://")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresStoreError.invalidURL(text, reason: "it names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresStoreError.invalidURL(text, reason: "it names no user")
        }
        self.host = host
        port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        database = path.isEmpty ? self.user : (path.removingPercentEncoding ?? path)
        sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require"].contains(sslMode) else {
            throw PostgresStoreError.invalidURL(text, reason: "sslmode is \(sslMode), not disable, prefer or require")
        }
        if let value = components.queryItems?.first(where: { $0.name == "pool_max_conns" })?.value {
            guard let count = Int(value), count >= 1 else {
                throw PostgresStoreError.invalidURL(text, reason: "pool_max_conns is \(value), not a whole number of 1 or more")
            }
            poolMaxConnections = count
        }
    }

    /// The query of the URL: `sslmode` unless it is the default, and `pool_max_conns` when given.
    private var queryItems: [URLQueryItem] {
        var items: [URLQueryItem] = []
        if sslMode != "prefer" { items.append(URLQueryItem(name: "sslmode", value: sslMode)) }
        if let poolMaxConnections { items.append(URLQueryItem(name: "pool_max_conns", value: String(poolMaxConnections))) }
        return items
    }

    /// The URL without its password, for messages and logs.
    var redacted: String {
        let query = queryItems.map { "\($0.name)=\($0.value ?? "")" }.joined(separator: "&")
        return "postgres://\(user)@\(host):\(port)/\(database)" + (query.isEmpty ? "" : "?" + query)
    }

    /// The same server and credentials with another database, as a URL string.
    func replacingDatabase(_ name: String) -> String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.host = host
        components.port = port
        components.user = user
        components.password = password
        components.path = "/" + name
        if !queryItems.isEmpty { components.queryItems = queryItems }
        return components.string ?? redacted
    }

    var tls: PostgresClient.Configuration.TLS {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case "disable":
            return .disable
        case "require":
            configuration.certificateVerification = .none
            return .require(configuration)
        default:
            configuration.certificateVerification = .none
            return .prefer(configuration)
        }
    }

    func clientConfiguration(maximumConnections: Int) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = max(1, maximumConnections)
        return configuration
    }

    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        switch sslMode {
        case "disable": tls = .disable
        case "require": tls = .require(try NIOSSLContext(configuration: configuration))
        default: tls = .prefer(try NIOSSLContext(configuration: configuration))
        }
        return PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database, tls: tls)
    }
}

extension PostgresStore {
    /// Whether `text` names a PostgreSQL store: a `postgres://` or `postgresql://` URL.
    public static func isStoreURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// `url` without its password, for messages and logs; a URL that does not parse is shown as `postgres://…`.
    public static func redacted(_ url: String) -> String {
        (try? PostgresURL(url).redacted) ?? "postgres://…"
    }
}
