import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("cairn serve in operation: JSON logs without secrets, tokens, TLS", .serialized)
struct OperationsTests {
    let folder: URL

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-ops-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    /// An OTLP/JSON request of one span carrying credentials in its attributes.
    static func spanWithSecrets(_ secrets: [String: String]) -> String {
        let attributes = secrets.map { key, value in #"{"key":"\#(key)","value":{"stringValue":"\#(value)"}}"# }
        return """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"ops-test"}}]},\
            "scopeSpans":[{"spans":[{"traceId":"5ec2e75ec2e75ec2e75ec2e75ec2e75e","spanId":"5ec2e75ec2e75ec2",\
            "name":"login","kind":2,"startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000100000000",\
            "attributes":[\(attributes.joined(separator: ","))]}]}]}]}
            """
    }

    static func get(_ url: String, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!)
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test("at debug level, no token, header or attribute value reaches the logs, and every line is JSON")
    func noSecretsInLogs() async throws {
        let server = try CairnProcess.Server(
            db: folder.appendingPathComponent("secrets.db").path, arguments: ["--log-level", "debug"],
            environment: ["CAIRN_INGEST_TOKEN": "ingest-SECRET-1"])
        let secrets = [
            "password": "SECRET-2-hunter2", "auth_token": "SECRET-3", "http.request.header.authorization": "Bearer SECRET-4",
            "card": "4111 1111 1111 1111",
        ]
        let body = Self.spanWithSecrets(secrets)
        #expect(try await server.post(json: body, headers: ["Authorization": "Bearer ingest-SECRET-1", "x-request-id": "ops-1"]) == 200)
        #expect(try await server.post(json: body, headers: ["Authorization": "Bearer SECRET-5-wrong"]) == 401)
        #expect(try await server.post(json: #"{"resourceSpans": "SECRET-6"}"#, headers: ["Authorization": "Bearer ingest-SECRET-1"]) == 400)
        let search = try await Self.get(
            "http://127.0.0.1:\(server.port)/api/traces?service=ops-test&tags=%7B%22password%22%3A%22SECRET-7%22%7D",
            headers: ["Cookie": "session=SECRET-8"])
        #expect(search.status == 200)
        #expect(server.signal(SIGTERM) == 0)

        let log = server.output
        for secret in ["ingest-SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5", "SECRET-6", "SECRET-7", "SECRET-8", "4111"] {
            #expect(!log.contains(secret), "\(secret) is in the log")
        }
        let records = try log.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        let requests = records.filter { $0["message"] as? String == "request" }
        #expect(requests.count == 4)
        #expect(requests.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false && $0["client"] as? String == "127.0.0.1" })
        #expect(requests.map { $0["status"] as? String } == ["200", "401", "400", "200"])
        #expect(requests.first?["request_id"] as? String == "ops-1")
        // The record of the undecodable body, logged at debug inside the request, carries its request id.
        let undecodable = records.first { $0["level"] as? String == "debug" && ($0["message"] as? String)?.contains("did not decode") == true }
        #expect(undecodable?["request_id"] as? String == requests[2]["request_id"] as? String)
    }

    @Test("a query token guards the query API and /metrics, read from a file; health stays open")
    func queryToken() async throws {
        let tokenFile = folder.appendingPathComponent("query.token")
        try "q-token-from-file\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try CairnProcess.Server(
            db: folder.appendingPathComponent("tokens.db").path, arguments: ["--query-token-file", tokenFile.path])
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try await Self.get("\(base)/api/services").status == 401)
        #expect(try await Self.get("\(base)/metrics").status == 401)
        #expect(try await Self.get("\(base)/api/services", headers: ["Authorization": "Bearer q-token-from-file"]).status == 200)
        #expect(try await Self.get("\(base)/metrics", headers: ["Authorization": "Bearer q-token-from-file"]).status == 200)
        #expect(try await Self.get("\(base)/health/ready").status == 200)
        #expect(try await server.post(json: Self.spanWithSecrets([:])) == 200)
        #expect(server.signal(SIGTERM) == 0)
    }

    @Test("with a certificate and key, the collector serves HTTPS only")
    func tls() async throws {
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = try CairnProcess.runTool(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate])
        try #require(openssl.status == 0, "\(openssl.stderr)")
        let server = try CairnProcess.Server(
            db: folder.appendingPathComponent("tls.db").path, arguments: ["--tls-cert", certificate, "--tls-key", key])
        let secure = try CairnProcess.runTool(
            "/usr/bin/curl", ["-sS", "--cacert", certificate, "-o", "/dev/null", "-w", "%{http_code}",
                              "https://127.0.0.1:\(server.port)/health/live"])
        #expect(secure.stdout == "200", "\(secure.stderr)")
        let plain = try CairnProcess.runTool(
            "/usr/bin/curl", ["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/health/live"])
        #expect(plain.stdout != "200")
        #expect(server.signal(SIGTERM) == 0)
    }

    @Test("a missing certificate or a lone --tls-key is one clear error")
    func tlsErrors() throws {
        let db = folder.appendingPathComponent("tls-errors.db").path
        ExpectedOutput.expectOneLineError(
            try CairnProcess.run(
                ["serve", "--port", "0", "--db", db, "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"]),
            status: 1, containing: "cannot read the TLS certificate /nonexistent/cert.pem")
        ExpectedOutput.expectOneLineError(
            try CairnProcess.run(["serve", "--port", "0", "--db", db, "--tls-key", "/nonexistent/key.pem"]),
            status: 1, containing: "TLS needs both a certificate and its key")
    }
}
