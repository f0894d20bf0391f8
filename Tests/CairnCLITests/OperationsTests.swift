import CairnTesting
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("cairn serve in operation: JSON logs without secrets, tokens, TLS", .serialized)
struct OperationsTests {
    /// Removed with everything in it when the test ends.
    let directory: TemporaryDirectory
    var folder: URL { directory.url }

    init() throws {
        directory = try TemporaryDirectory()
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

    @Test("at debug level, no token, header or attribute value reaches the logs, every line is JSON, and the stored span is redacted")
    func noSecretsInLogs() async throws {
        let server = try await CairnProcess.Server(
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
        let metrics = Exposition(try await Self.get("http://127.0.0.1:\(server.port)/metrics").body)
        #expect(metrics["cairn_ingest_redactions_total"] == Double(secrets.count))
        #expect(server.signal(SIGTERM) == 0)

        // Redacted before it was stored: the store holds none of the span's secrets either.
        let stored = try await CairnProcess.runOffPool(["export", "--all", "--db", folder.appendingPathComponent("secrets.db").path])
        #expect(stored.status == 0)
        #expect(stored.stdout.components(separatedBy: "[REDACTED]").count - 1 == secrets.count)
        for secret in secrets.values { #expect(!stored.stdout.contains(secret)) }

        let log = server.output
        for secret in ["ingest-SECRET-1", "SECRET-2", "SECRET-3", "SECRET-4", "SECRET-5", "SECRET-6", "SECRET-7", "SECRET-8", "4111"] {
            #expect(!log.contains(secret), "\(secret) is in the log")
        }
        let records = try log.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
        }
        let requests = records.filter { $0["message"] as? String == "request" }
        #expect(requests.count == 5)
        #expect(requests.allSatisfy { ($0["request_id"] as? String)?.isEmpty == false && $0["client"] as? String == "127.0.0.1" })
        #expect(requests.map { $0["status"] as? String } == ["200", "401", "400", "200", "200"])
        #expect(requests.first?["request_id"] as? String == "ops-1")
        // The record of the undecodable body, logged at debug inside the request, carries its request id.
        let undecodable = records.first { $0["level"] as? String == "debug" && ($0["message"] as? String)?.contains("did not decode") == true }
        #expect(undecodable?["request_id"] as? String == requests[2]["request_id"] as? String)
    }

    @Test("a query token guards the query API and /metrics, read from a file; health stays open")
    func queryToken() async throws {
        let tokenFile = folder.appendingPathComponent("query.token")
        try "q-token-from-file\n".write(to: tokenFile, atomically: true, encoding: .utf8)
        let server = try await CairnProcess.Server(
            db: folder.appendingPathComponent("tokens.db").path, arguments: ["--query-token-file", tokenFile.path])
        let base = "http://127.0.0.1:\(server.port)"
        #expect(try await Self.get("\(base)/api/services").status == 401)
        #expect(try await Self.get("\(base)/metrics").status == 401)
        #expect(try await Self.get("\(base)/api/services", headers: ["Authorization": "Bearer q-token-from-file"]).status == 200)
        #expect(try await Self.get("\(base)/metrics", headers: ["Authorization": "Bearer q-token-from-file"]).status == 200)
        #expect(try await Self.get("\(base)/health/ready").status == 200)
        #expect(try await server.post(json: Self.spanWithSecrets([:])) == 200)
        // The CLI reads through the collector with the token in CAIRN_QUERY_TOKEN.
        ExpectedOutput.expectOneLineError(
            try await CairnProcess.runOffPool(["traces", "--server", base, "--since", "1200d"], environment: ["CAIRN_QUERY_TOKEN": ""]),
            status: 2, containing: "answered 401")
        let traces = try await CairnProcess.runOffPool(
            ["traces", "--server", base, "--since", "1200d"], environment: ["CAIRN_QUERY_TOKEN": "q-token-from-file"])
        #expect(traces.status == 0, "\(traces.stderr)")
        #expect(traces.stdout.contains("5ec2e75ec2e75ec2e75ec2e75ec2e75e"))
        #expect(server.signal(SIGTERM) == 0)
    }

    @Test("with a certificate and key, the collector serves HTTPS only")
    func tls() async throws {
        let certificate = folder.appendingPathComponent("cert.pem").path
        let key = folder.appendingPathComponent("key.pem").path
        let openssl = try await CairnProcess.runToolOffPool(
            "/usr/bin/openssl",
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate])
        try #require(openssl.status == 0, "\(openssl.stderr)")
        let server = try await CairnProcess.Server(
            db: folder.appendingPathComponent("tls.db").path, arguments: ["--tls-cert", certificate, "--tls-key", key])
        let secure = try await CairnProcess.runToolOffPool(
            "/usr/bin/curl", ["-sS", "--cacert", certificate, "-o", "/dev/null", "-w", "%{http_code}",
                              "https://127.0.0.1:\(server.port)/health/live"])
        #expect(secure.stdout == "200", "\(secure.stderr)")
        let plain = try await CairnProcess.runToolOffPool(
            "/usr/bin/curl", ["-sS", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(server.port)/health/live"])
        #expect(plain.stdout != "200")
        #expect(server.signal(SIGTERM) == 0)
    }

    @Test("a missing certificate or a lone --tls-key is one clear error")
    func tlsErrors() async throws {
        let db = folder.appendingPathComponent("tls-errors.db").path
        ExpectedOutput.expectOneLineError(
            try await CairnProcess.runOffPool(
                ["serve", "--port", "0", "--db", db, "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"]),
            status: 1, containing: "cannot read the TLS certificate /nonexistent/cert.pem")
        ExpectedOutput.expectOneLineError(
            try await CairnProcess.runOffPool(["serve", "--port", "0", "--db", db, "--tls-key", "/nonexistent/key.pem"]),
            status: 1, containing: "TLS needs both a certificate and its key")
    }

    /// A CLIENT span of frontend and the SERVER span of checkout that it called, failed, as OTLP/JSON.
    static let callPair = """
        {"resourceSpans":[\
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"frontend"}}]},"scopeSpans":[{"spans":[\
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"GET /checkout","kind":3,\
        "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000000300000000","status":{"code":2}}]}]},\
        {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},"scopeSpans":[{"spans":[\
        {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"00f067aa0ba902b7","parentSpanId":"b7ad6b7169203331",\
        "name":"POST /checkout","kind":2,"startTimeUnixNano":"1700000000010000000","endTimeUnixNano":"1700000000290000000",\
        "status":{"code":2}}]}]}]}
        """

    @Test("ops/alerts.yml and ops/dashboard.json ask only for metrics that /metrics has, in PromQL that promtool accepts")
    func opsArtifacts() async throws {
        let root = CairnProcess.executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let server = try await CairnProcess.Server(db: folder.appendingPathComponent("ops.db").path)
        #expect(try await server.post(json: Self.callPair) == 200)
        var exposition = try await Self.get("http://127.0.0.1:\(server.port)/metrics")
        // The span-derived edge is recorded once both halves are in; scrape until it is there.
        for _ in 0..<100 where !exposition.body.contains("cairn_dependency_requests_total{") {
            try await Task.sleep(for: .milliseconds(20))
            exposition = try await Self.get("http://127.0.0.1:\(server.port)/metrics")
        }
        #expect(server.signal(SIGTERM) == 0)
        let metrics = Exposition(exposition.body)
        let families = metrics.families
        #expect(try metrics.promtoolProblems() == nil)

        let dashboard = try JSONSerialization.jsonObject(
            with: Data(contentsOf: root.appendingPathComponent("ops/dashboard.json"))) as? [String: Any]
        let panels = try #require(dashboard?["panels"] as? [[String: Any]])
        let dashboardExpressions = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(dashboardExpressions.count > 20)
        let alerts = try String(contentsOf: root.appendingPathComponent("ops/alerts.yml"), encoding: .utf8)

        // Every metric named, less the suffixes of a histogram's series, is a family on /metrics ("up" is Prometheus's).
        let named = (dashboardExpressions + [alerts]).flatMap { text in
            text.matches(of: /\b(?:cairn|process)_[a-z_]+\b/).map { String($0.output) }
        }
        for name in Set(named) {
            let family = [name, name.replacing(/_(bucket|sum|count)$/, with: "")].first(where: families.contains)
            #expect(family != nil, "\(name) is not on /metrics")
        }

        // The dashboard's queries parse: promtool checks them as recording rules, with Grafana's variables filled in.
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in dashboardExpressions.enumerated() {
            let filled = expression.replacing("$__rate_interval", with: "5m").replacing("$instance", with: ".*")
                .replacing("$service", with: ".*")
            rules += "      - record: dashboard_query_\(index)\n        expr: '\(filled.replacing("'", with: "''"))'\n"
        }
        let rulesFile = folder.appendingPathComponent("dashboard-rules.yml")
        try rules.write(to: rulesFile, atomically: true, encoding: .utf8)
        let parsed = try await CairnProcess.runToolOffPool("/usr/bin/promtool", ["check", "rules", rulesFile.path])
        #expect(parsed.status == 0, "\(parsed.stdout)\(parsed.stderr)")
    }

    @Test("the systemd units verify with systemd-analyze")
    func systemdUnits() async throws {
        let root = CairnProcess.executable.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for unit in ["cairn.service", "cairn-backup.service", "cairn-backup.timer"] {
            // The units name /usr/local/bin/cairn; verify them against the built binary.
            let text = try String(contentsOf: root.appendingPathComponent("ops/\(unit)"), encoding: .utf8)
                .replacing("/usr/local/bin/cairn", with: CairnProcess.executable.path)
            let copy = folder.appendingPathComponent(unit)
            try text.write(to: copy, atomically: true, encoding: .utf8)
            let verify = try await CairnProcess.runToolOffPool("/usr/bin/systemd-analyze", ["verify", copy.path])
            #expect(verify.status == 0 && verify.stderr.isEmpty, "\(unit): \(verify.stderr)")
        }
    }

    @Test("with --retention, a collector deletes the spans that ended before the period, and /metrics shows the store shrink")
    func retention() async throws {
        let db = folder.appendingPathComponent("retention.db").path
        let first = try await CairnProcess.Server(db: db)
        #expect(try await first.post(json: Self.spanWithSecrets(["k": "v"])) == 200)  // a span of 2023
        #expect(first.signal(SIGTERM) == 0)

        let server = try await CairnProcess.Server(db: db, arguments: ["--retention", "30d"])
        var spans: Double?
        for _ in 0..<250 {
            let body = try await Self.get("http://127.0.0.1:\(server.port)/metrics").body
            spans = Exposition(body)["cairn_store_spans"]
            if spans == 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(spans == 0)
        #expect(try await server.post(json: Self.callPair.replacing("1700000000", with: "\(Int(Date().timeIntervalSince1970))")) == 200)
        let kept = try await Self.get("http://127.0.0.1:\(server.port)/metrics").body
        #expect(Exposition(kept)["cairn_store_spans"] == 2)
        #expect(server.signal(SIGTERM) == 0)
        #expect(server.output.contains(#""component":"cairn.retention""#))
    }
}
