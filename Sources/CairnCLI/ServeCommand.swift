import ArgumentParser
import CairnCollector
import CairnSQLite
import Foundation

/// `cairn serve`: runs the collector, receiving OTLP/HTTP on `/v1/traces` into a SQLite store, until SIGTERM or
/// SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the collector: receive OTLP/HTTP traces and store them in SQLite.",
        discussion: """
            Listens for OTLP/HTTP (protobuf or JSON, plain or gzip) on POST /v1/traces. Flags win over the \
            environment variables CAIRN_HOST, CAIRN_PORT and CAIRN_DB. SIGTERM or SIGINT stops intake, commits \
            every accepted span, and exits with status 0.

            Examples:
              cairn serve
              cairn serve --host 0.0.0.0 --port 4318 --db /var/lib/cairn/cairn.db
              CAIRN_DB=/tmp/cairn.db cairn serve --port 14318
            """)

    @Option(help: ArgumentHelp("The address to listen on (env CAIRN_HOST; default 127.0.0.1).", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("The TCP port to listen on, 0 for any free port (env CAIRN_PORT; default 4318).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp("The SQLite database file, created when missing (env CAIRN_DB; default ./cairn.db).", valueName: "path"))
    var db: String?

    @Option(help: ArgumentHelp("The largest request body accepted, in bytes, before and after gzip decompression (default 20971520).", valueName: "bytes"))
    var maxBodyBytes: Int?

    func validate() throws {
        if let port, !(0...65_535).contains(port) {
            throw ValidationError("--port \(port) is not a TCP port; give a number from 0 to 65535.")
        }
        if let maxBodyBytes, maxBodyBytes <= 0 {
            throw ValidationError("--max-body-bytes must be a positive number of bytes.")
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
        let path = db ?? environment["CAIRN_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "./cairn.db"

        let store: SQLiteStore
        do {
            store = try SQLiteStore(path: path)
        } catch {
            // The store's errors say what happened and what to do.
            Self.fail("\(error)")
        }

        let host = configuration.host
        let collector = Collector(store: store, configuration: configuration)
        do {
            try await collector.run { port in
                // Written unbuffered, so that a process reading the pipe sees it at once.
                FileHandle.standardOutput.write(Data("cairn: listening on http://\(Self.urlHost(host)):\(port), store \(path)\n".utf8))
            }
        } catch {
            Self.fail("the collector stopped (\(error)); if the address is in use, stop the other process or choose another --port")
        }
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
