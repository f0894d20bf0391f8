import ArgumentParser
import CairnCollector
import Foundation
import Logging

/// `cairn serve`: runs the collector, receiving OTLP/HTTP on `/v1/traces` into a SQLite or PostgreSQL store, until
/// SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the collector: receive OTLP/HTTP traces and store them in SQLite or PostgreSQL.",
        discussion: """
            Listens for OTLP/HTTP (protobuf or JSON, plain or gzip) on POST /v1/traces, and serves the query API \
            (/api), health checks (/health/live, /health/ready) and Prometheus metrics (/metrics) on the same port. \
            Logs JSON lines on standard output. Several collectors can share one PostgreSQL store (--store \
            postgres://…; docs/scaling.md). Flags win over the environment variables CAIRN_HOST, CAIRN_PORT, \
            CAIRN_STORE, CAIRN_DB, LOG_LEVEL, CAIRN_TLS_CERT and CAIRN_TLS_KEY; the tokens come from files or from \
            CAIRN_INGEST_TOKEN and CAIRN_QUERY_TOKEN. SIGTERM or SIGINT stops intake, commits every accepted span, \
            and exits with status 0. docs/operations.md lists every setting.

            Examples:
              cairn serve
              cairn serve --host 0.0.0.0 --port 4318 --db /var/lib/cairn/cairn.db
              CAIRN_DB=/tmp/cairn.db cairn serve --port 14318
              cairn serve --host 0.0.0.0 --store postgres://cairn@db.internal:5432/cairn
            """)

    @Option(help: ArgumentHelp("The address to listen on (env CAIRN_HOST; default 127.0.0.1).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("The TCP port to listen on, 0 for any free port (env CAIRN_PORT; default 4318).", valueName: "port"))
    var port: Int?

    @OptionGroup var store: StoreOptions

    @Option(help: ArgumentHelp("The largest request body accepted, in bytes, before and after gzip decompression (default 20971520).", valueName: "bytes"))
    var maxBodyBytes: Int?

    @Option(help: ArgumentHelp("The most spans accepted and not yet committed; beyond it requests get 429 (default 65536).", valueName: "spans"))
    var maxQueuedSpans: Int?

    @Option(help: ArgumentHelp("The most bytes of spans accepted and not yet committed; beyond it requests get 429 (default 67108864).", valueName: "bytes"))
    var maxQueuedBytes: Int?

    @Option(help: ArgumentHelp("How long spans are kept after they end, such as 7d or 36h; older spans are deleted in the background (env CAIRN_RETENTION; default: keep all).", valueName: "duration"))
    var retention: String?

    @Option(name: .customLong("redact-key"), help: ArgumentHelp("Redact the values of attributes whose key ends with these words, such as \"session id\"; repeatable, added to the default rules (credentials and card numbers).", valueName: "words"))
    var redactKeys: [String] = []

    @Option(name: .customLong("redact-pattern"), help: ArgumentHelp("Redact what this regular expression matches in string attribute values; repeatable.", valueName: "regex"))
    var redactPatterns: [String] = []

    @Flag(help: "Do not apply the default redaction rules (credentials by key, payment card numbers).")
    var noDefaultRedaction = false

    @Option(help: ArgumentHelp("The least severe log level written: trace, debug, info, notice, warning, error or critical (env LOG_LEVEL; default info).", valueName: "level"))
    var logLevel: String?

    @Option(help: ArgumentHelp("A file holding the bearer token that POST /v1/traces requires (env CAIRN_INGEST_TOKEN holds the token itself); default none, ingest is open.", valueName: "path"))
    var ingestTokenFile: String?

    @Option(help: ArgumentHelp("A file holding the bearer token that the query API and /metrics require (env CAIRN_QUERY_TOKEN holds the token itself); default none, queries are open.", valueName: "path"))
    var queryTokenFile: String?

    @Option(help: ArgumentHelp("A PEM file with the server's certificate chain, to serve HTTPS (env CAIRN_TLS_CERT); needs --tls-key.", valueName: "path"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("A PEM file with the certificate's private key (env CAIRN_TLS_KEY).", valueName: "path"))
    var tlsKey: String?

    func validate() throws {
        _ = try redactionRules()
        if let port, !(0...65_535).contains(port) {
            throw ValidationError("--port \(port) is not a TCP port; give a number from 0 to 65535.")
        }
        for (flag, value) in [("--max-body-bytes", maxBodyBytes), ("--max-queued-spans", maxQueuedSpans), ("--max-queued-bytes", maxQueuedBytes)] {
            if let value, value <= 0 { throw ValidationError("\(flag) must be a positive number.") }
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration = CollectorConfiguration()
        configuration.host = host ?? environment["CAIRN_HOST"].flatMap { $0.isEmpty ? nil : $0 } ?? configuration.host
        if let port {
            configuration.port = port
        } else if let text = environment["CAIRN_PORT"], !text.isEmpty {
            guard let port = Int(text), (0...65_535).contains(port) else {
                Self.fail("CAIRN_PORT=\(text) is not a TCP port; set it to a number from 0 to 65535 or pass --port")
            }
            configuration.port = port
        }
        if let maxBodyBytes { configuration.maxBodyBytes = maxBodyBytes }
        if let maxQueuedSpans { configuration.maxQueuedSpans = maxQueuedSpans }
        if let maxQueuedBytes { configuration.maxQueuedBytes = maxQueuedBytes }
        func setting(_ flag: String?, _ variable: String) -> String? {
            flag ?? environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        let location = store.location

        configuration.redactionRules = try redactionRules()
        if let text = setting(retention, "CAIRN_RETENTION") {
            guard let nanos = QueryAPI.parseGoDuration(text, allowDays: true), nanos > 0 else {
                Self.fail("the retention \(text) is not a duration; give --retention (or CAIRN_RETENTION) like 7d, 36h or 90m")
            }
            configuration.retention = .nanoseconds(Int64(clamping: nanos))
        }

        let levelName = setting(logLevel, "LOG_LEVEL") ?? "info"
        guard let level = Logger.Level(name: levelName) else {
            Self.fail("the log level \(levelName) is not one of trace, debug, info, notice, warning, error, critical; set --log-level or LOG_LEVEL to one of them")
        }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        let logger = Logger(label: "cairn.collector")

        configuration.accessTokens = AccessTokens(
            ingest: Self.token(file: ingestTokenFile, variable: "CAIRN_INGEST_TOKEN", flag: "--ingest-token-file"),
            query: Self.token(file: queryTokenFile, variable: "CAIRN_QUERY_TOKEN", flag: "--query-token-file"))
        switch (setting(tlsCert, "CAIRN_TLS_CERT"), setting(tlsKey, "CAIRN_TLS_KEY")) {
        case (nil, nil): break
        case (let certificate?, let key?):
            configuration.tls = CollectorConfiguration.TLSFiles(certificatePath: certificate, privateKeyPath: key)
        default:
            Self.fail("TLS needs both a certificate and its key; give --tls-cert and --tls-key (or CAIRN_TLS_CERT and CAIRN_TLS_KEY)")
        }

        let open: OpenStore
        do {
            open = try await location.open()
        } catch {
            Self.fail("\(error)")
        }

        let host = configuration.host
        let scheme = configuration.tls == nil ? "http" : "https"
        let tokens = configuration.accessTokens
        let collector = Collector(store: open.store, configuration: configuration, logger: logger)
        collector.metrics.bootstrapMetricsSystem()
        do {
            try await collector.run { port in
                logger.info("listening", metadata: [
                    "url": "\(scheme)://\(Self.urlHost(host)):\(port)", "store": "\(location.address)",
                    "ingest_token": "\(tokens.ingest != nil)", "query_token": "\(tokens.query != nil)",
                ])
            }
        } catch let error as CollectorError {
            Self.fail("\(error)")
        } catch {
            Self.fail("the collector stopped (\(error)); if the address is in use, stop the other process or choose another --port")
        }
        await open.close()
    }

    /// The redaction rules of the flags: the defaults unless turned off, then the keys and patterns given.
    private func redactionRules() throws -> [RedactionRule] {
        do {
            return (noDefaultRedaction ? [] : Redactor.defaultRules) + (try redactKeys.map { try RedactionRule.key($0) })
                + (try redactPatterns.map { try RedactionRule.pattern($0) })
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The token in `file` (its first line), else in the environment variable; nil when neither is given.
    private static func token(file: String?, variable: String, flag: String) -> String? {
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                fail("cannot read the token file \(file) given with \(flag); check the path and its permissions")
            }
            let token = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            guard !token.isEmpty else { fail("the token file \(file) given with \(flag) is empty; write the token on its first line") }
            return token
        }
        return ProcessInfo.processInfo.environment[variable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Writes one line to standard error and exits with status 1.
    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("cairn: \(message)\n".utf8))
        Foundation.exit(1)
    }

    /// The host as it appears in a URL: IPv6 addresses in brackets.
    private static func urlHost(_ host: String) -> String {
        host.contains(":") ? "[\(host)]" : host
    }
}
