import CairnCollector
import CairnModel
import CairnOTLP
import CairnTesting
import Foundation
import Testing

@Suite("Redaction at ingest: credentials by key, card numbers and patterns in values")
struct RedactorTests {
    static let redacted = AttributeValue.string(Redactor.replacement)
    static let resource = Resource(attributes: [Attribute("service.name", .string("shop"))])

    /// A span with these attributes.
    static func span(_ attributes: [Attribute], id: UInt64 = 1) -> Span {
        Span(
            traceID: TraceID(high: 1, low: 2), spanID: SpanID(value: id), name: "GET /cart", kind: .server,
            startTimeUnixNano: 1_000, endTimeUnixNano: 2_000, attributes: attributes, resource: resource)
    }

    /// The attributes of one span after redaction, and the number of redactions.
    static func redact(
        _ attributes: [Attribute], rules: [RedactionRule] = Redactor.defaultRules
    ) throws -> (attributes: [Attribute], redactions: Int) {
        let (batch, redactions) = Redactor(rules: rules).redact(SpanBatch(spans: [span(attributes)]))
        return (try #require(try batch.spans().first).attributes, redactions)
    }

    /// The value of one attribute after redaction.
    static func redact(_ key: String, _ value: AttributeValue, rules: [RedactionRule] = Redactor.defaultRules) throws
        -> AttributeValue
    {
        try redact([Attribute(key, value)], rules: rules).attributes[0].value
    }

    // MARK: - Keys

    @Test(
        "the default rules redact credentials by the last words of their key",
        arguments: [
            "http.request.header.authorization", "http.request.header.proxy-authorization", "HTTP_AUTHORIZATION",
            "http.request.header.cookie", "http.response.header.set-cookie", "http.request.header.set-cookie",
            "db.password", "user_password", "userPassword", "passwd", "client_secret", "clientSecret", "auth_token",
            "access_token", "x-auth-token", "apiKey", "APIKey", "api_key", "x-api-key", "http.request.header.x-api-key",
            "x-apikey", "aws.secret_access_key", "tls.private_key",
        ])
    func credentialKeys(key: String) throws {
        let (attributes, redactions) = try Self.redact([Attribute(key, .string("s3cr3t-Value")), Attribute("kept", .string("x"))])
        #expect(attributes == [Attribute(key, Self.redacted), Attribute("kept", .string("x"))])
        #expect(redactions == 1)
    }

    @Test(
        "keys that only contain a credential word, or end with another word, are kept",
        arguments: [
            "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.token.type", "llm.token_count.prompt",
            "tokenizer.name", "secret.name", "password.reset.requested", "passwordless", "author", "cookies.enabled",
            "monkey", "keyboard.layout", "messaging.kafka.message.key.size", "http.request.header.content-type",
        ])
    func ordinaryKeys(key: String) throws {
        #expect(try Self.redact(key, .string("value")) == .string("value"))
    }

    @Test("a key-matched value of any type becomes the string [REDACTED]")
    func anyType() throws {
        let values: [AttributeValue] = [
            .int(1234), .bool(true), .double(1.5), .bytes([1, 2, 3]), .array([.string("a"), .int(1)]),
            .keyValueList([Attribute("inner", .string("b"))]), .empty, .string(""),
        ]
        let (attributes, redactions) = try Self.redact(values.map { Attribute("session.token", $0) })
        #expect(attributes.map(\.value) == Array(repeating: Self.redacted, count: values.count))
        #expect(redactions == values.count)
    }

    @Test("a key rule is given as words in any style; a key with no word is refused in one sentence")
    func keyRules() throws {
        for style in ["session id", "session_id", "sessionId", "Session-ID"] {
            let rule = try RedactionRule.key(style)
            #expect(rule.description == "key session id")
            #expect(try Self.redact("http.request.header.x-session-id", .string("abc"), rules: [rule]) == Self.redacted)
            #expect(try Self.redact("session.identifier", .string("abc"), rules: [rule]) == .string("abc"))
        }
        // One letter, and letters beyond ASCII (compared exactly).
        #expect(try Self.redact("http.request.header.x", .string("abc"), rules: [try RedactionRule.key("x")]) == Self.redacted)
        #expect(try Self.redact("x", .int(1), rules: [try RedactionRule.key("X")]) == Self.redacted)
        #expect(try Self.redact("user.Contraseña", .string("abc"), rules: [try RedactionRule.key("contraseña")]) == Self.redacted)
        #expect(try Self.redact("user.contraseñas", .string("abc"), rules: [try RedactionRule.key("contraseña")]) == .string("abc"))
        #expect(throws: RedactionRule.ParseError.self) { try RedactionRule.key(" .-_ ") }
        do {
            _ = try RedactionRule.key("")
            Issue.record("an empty key was accepted")
        } catch {
            #expect(error.description.hasPrefix("the redaction key \"\" has no letter or digit"))
            #expect(!error.description.contains("\n"))
        }
    }

    // MARK: - Values

    @Test(
        "card numbers are replaced within any string, with or without separators",
        arguments: [
            ("4111111111111111", "[REDACTED]"),
            ("4111 1111 1111 1111", "[REDACTED]"),
            ("4111-1111-1111-1111", "[REDACTED]"),
            ("paid with 5555 5555 5555 4444 today", "paid with [REDACTED] today"),
            ("amex 378282246310005, discover 6011111111111117.", "amex [REDACTED], discover [REDACTED]."),
            ("diners 30569309025904 jcb 3530-1113-3330-0000", "diners [REDACTED] jcb [REDACTED]"),
            ("card=4111111111111111&cvv=123", "card=[REDACTED]&cvv=123"),
            ("4111 1111 1111 1111 1234", "[REDACTED] 1234"),
            ("order 12345 4111111111111111", "order 12345 [REDACTED]"),
        ])
    func cardNumbers(text: String, expected: String) throws {
        let (attributes, redactions) = try Self.redact([Attribute("payment.note", .string(text))])
        #expect(attributes[0].value == .string(expected))
        #expect(redactions == expected.components(separatedBy: "[REDACTED]").count - 1)
    }

    @Test(
        "numbers that are not card numbers are kept",
        arguments: [
            "4111 1111 1111 1112",  // fails the Luhn check
            "411111111111",  // 12 digits
            "41111111111111111111111",  // 23 digits in a row: an identifier
            "4111  1111 1111 1111",  // two spaces split the groups
            "4111--1111-1111-1111",
            "1700000000123456786",  // a timestamp in nanoseconds that passes the Luhn check
            "1700000000129",  // in milliseconds, likewise
            "4111.1111.1111.1111",
        ])
    func notCardNumbers(text: String) throws {
        #expect(try Self.redact([Attribute("note", .string(text))]).redactions == 0)
        #expect(try Self.redact("note", .string(text)) == .string(text))
    }

    @Test("card numbers in integers are not looked for: only strings hold text")
    func integersAreNotText() throws {
        #expect(try Self.redact("card", .int(4_111_111_111_111_111)) == .int(4_111_111_111_111_111))
    }

    @Test("a pattern replaces each match within string values")
    func patterns() throws {
        let rule = try RedactionRule.pattern(#"SSN-\d{3}-\d{2}-\d{4}"#)
        let (attributes, redactions) = try Self.redact(
            [
                Attribute("note", .string("a SSN-123-45-6789 and SSN-987-65-4321.")),
                Attribute("other", .string("no number")),
                Attribute("count", .int(123_456_789)),
            ],
            rules: [rule])
        #expect(attributes.map(\.value) == [.string("a [REDACTED] and [REDACTED]."), .string("no number"), .int(123_456_789)])
        #expect(redactions == 2)
        #expect(rule.description == #"pattern SSN-\d{3}-\d{2}-\d{4}"#)

        let email = try RedactionRule.pattern(#"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"#)
        #expect(try Self.redact("enduser.note", .string("mail é jane.doe@example.com now"), rules: [email])
            == .string("mail é [REDACTED] now"))
    }

    @Test("an invalid or empty-matching pattern is refused with one sentence")
    func invalidPatterns() {
        for pattern in ["(unclosed", "[a-", "*x"] {
            do {
                _ = try RedactionRule.pattern(pattern)
                Issue.record("\(pattern) was accepted")
            } catch {
                #expect(error.description == "the redaction pattern \"\(pattern)\" is not a valid regular expression; check its syntax (ICU, as NSRegularExpression reads it)")
            }
        }
        #expect(throws: RedactionRule.ParseError.self) { try RedactionRule.pattern("a*") }
    }

    @Test("values inside arrays and key-value lists are checked, keys of lists included")
    func nested() throws {
        let value = AttributeValue.keyValueList([
            Attribute("headers", .keyValueList([
                Attribute("Authorization", .string("Bearer abc")),
                Attribute("Accept", .string("*/*")),
            ])),
            Attribute("cards", .array([.string("x 4111111111111111"), .int(4), .array([.string("5555555555554444")])])),
            Attribute("list", .array([.keyValueList([Attribute("db.password", .bool(true))])])),
        ])
        let (attributes, redactions) = try Self.redact([Attribute("request", value)])
        #expect(
            attributes[0].value
                == .keyValueList([
                    Attribute("headers", .keyValueList([
                        Attribute("Authorization", Self.redacted),
                        Attribute("Accept", .string("*/*")),
                    ])),
                    Attribute("cards", .array([.string("x [REDACTED]"), .int(4), .array([Self.redacted])])),
                    Attribute("list", .array([.keyValueList([Attribute("db.password", Self.redacted)])])),
                ]))
        #expect(redactions == 4)
    }

    // MARK: - Batches

    @Test("resource, scope, event and link attributes are redacted, and every redaction is counted")
    func everyPlace() throws {
        let resource = Resource(
            attributes: [Attribute("service.name", .string("shop")), Attribute("deploy.api_key", .string("k-1"))],
            schemaURL: "https://opentelemetry.io/schemas/1.26.0")
        let scope = InstrumentationScope(
            name: "shop.http", version: "1.0", attributes: [Attribute("vendor.client_secret", .string("s"))])
        var span = Self.span([Attribute("user_password", .string("p"))])
        span.resource = resource
        span.scope = scope
        span.events = [
            SpanEvent(timeUnixNano: 1_500, name: "charge", attributes: [
                Attribute("card", .string("4111 1111 1111 1111")), Attribute("amount", .int(12)),
            ])
        ]
        span.links = [
            SpanLink(traceID: TraceID(high: 3, low: 4), spanID: SpanID(value: 5), attributes: [Attribute("auth_token", .string("t"))])
        ]
        let (batch, redactions) = Redactor(rules: Redactor.defaultRules).redact(SpanBatch(spans: [span]))
        #expect(redactions == 5)
        var expected = span
        expected.resource.attributes[1].value = Self.redacted
        expected.scope.attributes[0].value = Self.redacted
        expected.attributes[0].value = Self.redacted
        expected.events[0].attributes[0].value = Self.redacted
        expected.links[0].attributes[0].value = Self.redacted
        #expect(try batch.spans() == [expected])
        #expect(batch.resources[0].serviceName == "shop")
        #expect(batch.resources[0].schemaURL == resource.schemaURL)
    }

    @Test("a batch that needs no change comes back byte for byte; redacting twice changes nothing more")
    func untouched() throws {
        let batch = SpanBatch(spans: Fixtures.realisticSpans(count: 300, seed: 6))
        let (same, redactions) = Redactor(rules: Redactor.defaultRules).redact(batch)
        #expect(redactions == 0)
        #expect(same.payloads == batch.payloads)
        #expect(same.resources == batch.resources)
        #expect(same.scopes == batch.scopes)
        #expect(same.records.map(\.payloadOffset) == batch.records.map(\.payloadOffset))

        var spans = Fixtures.realisticSpans(count: 20, seed: 7)
        spans[5].attributes.append(Attribute("http.request.header.authorization", .array([.string("Basic dTpw")])))
        let once = Redactor(rules: Redactor.defaultRules).redact(SpanBatch(spans: spans))
        #expect(once.redactions == 1)
        let twice = Redactor(rules: Redactor.defaultRules).redact(once.batch)
        #expect(twice.redactions == 0)
        #expect(twice.batch.payloads == once.batch.payloads)
        #expect(Redactor(rules: []).redact(SpanBatch(spans: spans)).batch.payloads == SpanBatch(spans: spans).payloads)
    }

    @Test("screening the encoded spans hides no match: the result equals decoding every span")
    func screenHidesNothing() throws {
        // Words and digits in keys and values of every style, on realistic spans.
        let keys = [
            "db.password", "Authorization", "x-API-KEY", "apiKey", "my.tokenizer", "gen_ai.usage.input_tokens",
            "AUTH_TOKEN", "cookie", "set-Cookie", "secretary", "key", "api", "passwd2", "private.key", "privateKey",
            "some.access-key", "k", "t",
        ]
        let values = [
            "4111 1111 1111 1111", "41111111111111", "4111-1111-1111-1111-9", "x 378282246310005 y", "1234567890123",
            "5555555555554444", "12 34 56 78 90 12 34", "plain", "",
        ]
        var random = UInt64(42)
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        var spans = Fixtures.realisticSpans(count: 400, seed: 9)
        for index in spans.indices where next(3) == 0 {
            let attribute = Attribute(keys[next(keys.count)], .string(values[next(values.count)]))
            switch next(4) {
            case 0: spans[index].attributes.insert(attribute, at: next(spans[index].attributes.count + 1))
            case 1: spans[index].attributes.append(Attribute("nested", .keyValueList([attribute])))
            case 2: spans[index].events.append(SpanEvent(timeUnixNano: 1, name: "e", attributes: [attribute]))
            default: spans[index].links.append(SpanLink(traceID: TraceID(high: 1, low: 1), spanID: SpanID(value: 1), attributes: [attribute]))
            }
        }
        let batch = SpanBatch(spans: spans)
        // A pattern that never matches makes the redactor decode every span.
        let never = try RedactionRule.pattern("(?!x)x")
        for rules in [Redactor.defaultRules, [try RedactionRule.key("k")], [.paymentCardNumbers]] {
            let screened = Redactor(rules: rules).redact(batch)
            let everySpan = Redactor(rules: rules + [never]).redact(batch)
            #expect(screened.redactions > 0)
            #expect(screened.redactions == everySpan.redactions)
            #expect(try screened.batch.spans() == everySpan.batch.spans())
        }
    }

    @Test("only the spans that match change; the redacted batch decodes with every other field and record kept")
    func keepsEverythingElse() throws {
        var spans = Fixtures.everyFieldSpans()
        spans[0].attributes.append(Attribute("db.password", .string("hunter2")))
        spans[0].events[0].attributes.append(Attribute("note", .string("card 4111-1111-1111-1111")))
        let batch = SpanBatch(spans: spans)
        let (redacted, redactions) = Redactor(rules: Redactor.defaultRules).redact(batch)
        #expect(redactions == 2)

        var expected = spans
        expected[0].attributes[expected[0].attributes.count - 1].value = Self.redacted
        let last = expected[0].events[0].attributes.count - 1
        expected[0].events[0].attributes[last].value = .string("card [REDACTED]")
        #expect(try redacted.spans() == expected)

        #expect(redacted.records.count == batch.records.count)
        for (after, before) in zip(redacted.records, batch.records) {
            #expect(after.traceID == before.traceID && after.spanID == before.spanID && after.parentSpanID == before.parentSpanID)
            #expect(after.name == before.name && after.kind == before.kind && after.statusCode == before.statusCode)
            #expect(after.startTimeUnixNano == before.startTimeUnixNano && after.endTimeUnixNano == before.endTimeUnixNano)
            #expect(after.resourceIndex == before.resourceIndex && after.scopeIndex == before.scopeIndex)
        }
        // The spans that did not match keep their bytes.
        for index in 1..<batch.records.count {
            #expect(redacted.payload(of: redacted.records[index]) == batch.payload(of: batch.records[index]))
        }
        #expect(redacted.payload(of: redacted.records[0]) != batch.payload(of: batch.records[0]))
    }
}
