import CairnModel
import CairnSDK
import Instrumentation
import Testing
import Tracing

/// The cases of the W3C Trace Context test suite (w3c/trace-context `test/test.py`), carried over as facts: the
/// harness sends headers to a service, which continues the trace and calls back; the test reads the callback's
/// `traceparent` and `tracestate`. Here the "service" extracts, starts a child span and injects.
@Suite("W3C Trace Context")
struct TraceContextTests {
    static let traceID = "12345678901234567890123456789012"
    static let parentID = "1234567890123456"
    static let valid = "00-\(traceID)-\(parentID)-01"

    struct Outgoing {
        var traceParent: TraceParent
        var traceState: TraceState
        var traceIDHex: String { traceParent.traceID.hex }
    }

    /// Extracts `headers`, starts a child span and injects it, as the test service of the suite does.
    func callback(_ headers: [(String, String)]) throws -> Outgoing {
        let (tracer, _) = makeTracer(sampler: ParentBasedSampler(root: AlwaysOnSampler()))
        var context = ServiceContext.topLevel
        tracer.extract(headers, into: &context, using: HeaderExtractor())
        let span = tracer.startSpan("handle", context: context, ofKind: .server)
        defer { span.end() }
        var outgoing: [String: String] = [:]
        tracer.inject(span.context, into: &outgoing, using: DictionaryInjector())
        let header = try #require(outgoing["traceparent"])
        #expect(header.utf8.count == 55)
        let traceParent = try #require(TraceParent(header: header))
        let traceState = try #require(TraceState(header: outgoing["tracestate"] ?? ""))
        return Outgoing(traceParent: traceParent, traceState: traceState)
    }

    func continues(_ headers: [(String, String)]) throws -> Bool {
        try callback(headers).traceIDHex == Self.traceID
    }

    // MARK: traceparent

    @Test("without traceparent or tracestate the service starts a valid trace")
    func bothMissing() throws {
        let outgoing = try callback([])
        #expect(outgoing.traceParent.traceID.isValid)
        #expect(outgoing.traceState.isEmpty)
    }

    @Test("a valid traceparent is continued with the same trace id and a new parent id")
    func continued() throws {
        let outgoing = try callback([("traceparent", Self.valid)])
        #expect(outgoing.traceIDHex == Self.traceID)
        #expect(outgoing.traceParent.parentID.hex != Self.parentID)
        #expect(outgoing.traceParent.traceFlags == .sampled)
    }

    @Test("a duplicated traceparent starts a new trace")
    func duplicated() throws {
        let outgoing = try callback([
            ("traceparent", "00-12345678901234567890123456789011-1234567890123456-01"),
            ("traceparent", Self.valid),
        ])
        #expect(outgoing.traceIDHex != "12345678901234567890123456789011")
        #expect(outgoing.traceIDHex != Self.traceID)
    }

    @Test("a traceparent under another header name is ignored", arguments: ["trace-parent", "trace.parent"])
    func wrongName(name: String) throws {
        #expect(try !continues([(name, Self.valid)]))
    }

    @Test("the header name matches in any case", arguments: ["TraceParent", "TrAcEpArEnT", "TRACEPARENT"])
    func nameCasing(name: String) throws {
        #expect(try continues([(name, Self.valid)]))
    }

    @Test(
        "an invalid traceparent starts a new trace",
        arguments: [
            "00-12345678901234567890123456789012-1234567890123456-01.",  // version 00 with trailing characters
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
            "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
            "ff-12345678901234567890123456789012-1234567890123456-01",  // version ff is invalid
            ".0-12345678901234567890123456789012-1234567890123456-01",  // version: illegal characters
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "000-12345678901234567890123456789012-1234567890123456-01",  // version too long
            "0000-12345678901234567890123456789012-1234567890123456-01",
            "0-12345678901234567890123456789012-1234567890123456-01",  // version too short
            "00-00000000000000000000000000000000-1234567890123456-01",  // trace id all zero
            "00-.2345678901234567890123456789012-1234567890123456-01",  // trace id: illegal characters
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-123456789012345678901234567890123-1234567890123456-01",  // trace id too long
            "00-1234567890123456789012345678901-1234567890123456-01",  // trace id too short
            "00-12345678901234567890123456789012-0000000000000000-01",  // parent id all zero
            "00-12345678901234567890123456789012-.234567890123456-01",  // parent id: illegal characters
            "00-12345678901234567890123456789012-123456789012345.-01",
            "00-12345678901234567890123456789012-12345678901234567-01",  // parent id too long
            "00-12345678901234567890123456789012-123456789012345-01",  // parent id too short
            "00-12345678901234567890123456789012-1234567890123456-.0",  // flags: illegal characters
            "00-12345678901234567890123456789012-1234567890123456-0.",
            "00-12345678901234567890123456789012-1234567890123456-001",  // flags too long
            "00-12345678901234567890123456789012-1234567890123456-1",  // flags too short
            "00-1234567890ABCDEF1234567890123456-1234567890123456-01",  // uppercase hex
        ])
    func invalid(header: String) throws {
        let outgoing = try callback([("traceparent", header)])
        #expect(outgoing.traceIDHex != Self.traceID)
        #expect(outgoing.traceParent.traceID.isValid)
        #expect(TraceParent(header: header) == nil)
    }

    @Test(
        "a future version is parsed by the rules for future versions",
        arguments: [
            "cc-12345678901234567890123456789012-1234567890123456-01",
            "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
        ])
    func futureVersion(header: String) throws {
        #expect(try continues([("traceparent", header)]))
    }

    @Test(
        "spaces and tabs around the traceparent are ignored",
        arguments: [
            " 00-12345678901234567890123456789012-1234567890123456-01",
            "\t00-12345678901234567890123456789012-1234567890123456-01",
            "00-12345678901234567890123456789012-1234567890123456-01 ",
            "00-12345678901234567890123456789012-1234567890123456-01\t",
            "\t 00-12345678901234567890123456789012-1234567890123456-01 \t",
        ])
    func whitespace(header: String) throws {
        #expect(try continues([("traceparent", header)]))
    }

    @Test("flags other than sampled are written as zero")
    func otherFlags() throws {
        let outgoing = try callback([("traceparent", "00-\(Self.traceID)-\(Self.parentID)-02")])
        #expect(outgoing.traceIDHex == Self.traceID)
        #expect(outgoing.traceParent.traceFlags == [])
        let sampled = try callback([("traceparent", "00-\(Self.traceID)-\(Self.parentID)-ff")])
        #expect(sampled.traceParent.traceFlags == .sampled)
    }

    @Test("an unsampled caller gives an unsampled callback in the same trace")
    func unsampledCaller() throws {
        let outgoing = try callback([("traceparent", "00-\(Self.traceID)-\(Self.parentID)-00")])
        #expect(outgoing.traceIDHex == Self.traceID)
        #expect(outgoing.traceParent.traceFlags == [])
        #expect(outgoing.traceParent.parentID.hex != Self.parentID)
    }

    // MARK: tracestate

    let unsampled = ("traceparent", "00-12345678901234567890123456789012-1234567890123456-00")

    @Test("a tracestate without a traceparent is discarded")
    func traceStateWithoutParent() throws {
        #expect(try callback([("tracestate", "foo=1")]).traceState.isEmpty)
        #expect(try callback([("tracestate", "foo=1,bar=2")]).traceState.isEmpty)
    }

    @Test("a tracestate with an invalid traceparent is discarded")
    func traceStateWithInvalidParent() throws {
        let outgoing = try callback([
            ("traceparent", "00-00000000000000000000000000000000-1234567890123456-01"), ("tracestate", "foo=1"),
        ])
        #expect(outgoing.traceState.isEmpty)
    }

    @Test("a tracestate with a traceparent is inherited")
    func inherited() throws {
        let outgoing = try callback([unsampled, ("tracestate", "foo=1,bar=2")])
        #expect(outgoing.traceIDHex == Self.traceID)
        #expect(outgoing.traceState["foo"] == "1")
        #expect(outgoing.traceState["bar"] == "2")
    }

    @Test("a tracestate under another header name is ignored", arguments: ["trace-state", "trace.state"])
    func traceStateWrongName(name: String) throws {
        #expect(try callback([unsampled, (name, "foo=1")]).traceState["foo"] == nil)
    }

    @Test("the tracestate header name matches in any case", arguments: ["TraceState", "TrAcEsTaTe", "TRACESTATE"])
    func traceStateCasing(name: String) throws {
        #expect(try callback([unsampled, (name, "foo=1")]).traceState["foo"] == "1")
    }

    @Test("an empty tracestate is discarded, and ignored beside a non-empty one")
    func emptyTraceState() throws {
        let empty = try callback([unsampled, ("tracestate", "")])
        #expect(empty.traceState.isEmpty)
        #expect(empty.traceIDHex == Self.traceID)
        #expect(try callback([unsampled, ("tracestate", "foo=1"), ("tracestate", "")]).traceState["foo"] == "1")
        #expect(try callback([unsampled, ("tracestate", ""), ("tracestate", "foo=1")]).traceState["foo"] == "1")
    }

    @Test("several tracestate headers combine in order")
    func combined() throws {
        let outgoing = try callback([
            unsampled, ("tracestate", "foo=1,bar=2"), ("tracestate", "rojo=1,congo=2"), ("tracestate", "baz=3"),
        ])
        #expect(outgoing.traceState.header == "foo=1,bar=2,rojo=1,congo=2,baz=3")
    }

    @Test("duplicated keys keep one of the values")
    func duplicatedKeys() throws {
        #expect(try callback([unsampled, ("tracestate", "foo=1,foo=1")]).traceState.header == "foo=1")
        #expect(try callback([unsampled, ("tracestate", "foo=1,foo=2")]).traceState.header == "foo=1")
        #expect(try callback([unsampled, ("tracestate", "foo=1"), ("tracestate", "foo=1")]).traceState.header == "foo=1")
        #expect(try callback([unsampled, ("tracestate", "foo=1"), ("tracestate", "foo=2")]).traceState.header == "foo=1")
    }

    @Test("every allowed character in keys and values is kept")
    func allowedCharacters() throws {
        let keyWithoutVendor = "abcdefghijklmnopqrstuvwxyz0123456789_-*/"
        let keyWithVendor = keyWithoutVendor + "@a-z0-9_-*/"
        let value = String(decoding: Array(0x20...0x2B) + Array(0x2D...0x3C) + Array(0x3E...0x7E), as: UTF8.self)
        #expect(try callback([unsampled, ("tracestate", keyWithoutVendor + "=" + value)]).traceState[keyWithoutVendor] == value)
        #expect(try callback([unsampled, ("tracestate", keyWithVendor + "=" + value)]).traceState[keyWithVendor] == value)
    }

    @Test(
        "spaces and tabs around tracestate members are ignored",
        arguments: ["foo=1 \t , \t bar=2, \t baz=3", "foo=1\t \t,\t \tbar=2,\t \tbaz=3"])
    func traceStateWhitespace(header: String) throws {
        let state = try callback([unsampled, ("tracestate", header)]).traceState
        #expect(state["foo"] == "1" && state["bar"] == "2" && state["baz"] == "3")
    }

    @Test("spaces and tabs around a single member are ignored", arguments: [" foo=1", "\tfoo=1", "foo=1 ", "foo=1\t", "\t foo=1 \t"])
    func singleMemberWhitespace(header: String) throws {
        let outgoing = try callback([unsampled, ("tracestate", header)])
        #expect(outgoing.traceIDHex == Self.traceID)
        #expect(outgoing.traceState["foo"] == "1")
    }

    @Test("a key with illegal characters discards the tracestate", arguments: ["foo =1", "FOO=1", "foo.bar=1"])
    func illegalKey(header: String) throws {
        let outgoing = try callback([unsampled, ("tracestate", header)])
        #expect(outgoing.traceState.isEmpty)
        #expect(outgoing.traceIDHex == Self.traceID)
    }

    @Test("keys with at signs follow the key grammar")
    func vendorKeys() throws {
        let first = try callback([unsampled, ("tracestate", "foo@=1,bar=2")]).traceState
        #expect(first["foo@"] == "1" && first["bar"] == "2")
        #expect(try callback([unsampled, ("tracestate", "@foo=1,bar=2")]).traceState["bar"] == nil)
        let doubled = try callback([unsampled, ("tracestate", "foo@@bar=1,bar=2")]).traceState
        #expect(doubled["foo@@bar"] == "1" && doubled["bar"] == "2")
        let twice = try callback([unsampled, ("tracestate", "foo@bar@baz=1,bar=2")]).traceState
        #expect(twice["foo@bar@baz"] == "1" && twice["bar"] == "2")
    }

    @Test("32 members are kept and 33 discard the tracestate")
    func memberCount() throws {
        let headers = [
            "bar01=01,bar02=02,bar03=03,bar04=04,bar05=05,bar06=06,bar07=07,bar08=08,bar09=09,bar10=10",
            "bar11=11,bar12=12,bar13=13,bar14=14,bar15=15,bar16=16,bar17=17,bar18=18,bar19=19,bar20=20",
            "bar21=21,bar22=22,bar23=23,bar24=24,bar25=25,bar26=26,bar27=27,bar28=28,bar29=29,bar30=30",
        ].map { ("tracestate", $0) }
        let kept = try callback([unsampled] + headers + [("tracestate", "bar31=31,bar32=32")]).traceState
        #expect(kept["bar01"] == "01")
        #expect(kept.members.count == 32)
        let dropped = try callback([unsampled] + headers + [("tracestate", "bar31=31,bar32=32,bar33=33")]).traceState
        #expect(dropped["bar01"] == nil)
    }

    @Test("keys of up to 256 characters are kept, 257 discard the tracestate")
    func keyLength() throws {
        for key in [String(repeating: "z", count: 256), String(repeating: "t", count: 241) + "@" + String(repeating: "v", count: 14),
            String(repeating: "t", count: 242) + "@v", "t@" + String(repeating: "v", count: 15)]
        {
            let state = try callback([unsampled, ("tracestate", "foo=1"), ("tracestate", key + "=1")]).traceState
            #expect(state["foo"] == "1")
            #expect(state[key] == "1")
        }
        let long = String(repeating: "z", count: 257)
        #expect(try callback([unsampled, ("tracestate", "foo=1"), ("tracestate", long + "=1")]).traceState["foo"] == nil)
    }

    @Test("an illegal value discards the tracestate", arguments: ["foo=bar=baz", "foo=,bar=3"])
    func illegalValue(header: String) throws {
        let state = try callback([unsampled, ("tracestate", header)]).traceState
        #expect(state["foo"] == nil && state["bar"] == nil)
    }

    // MARK: advanced

    @Test("several calls within one request share the trace id and get different parent ids")
    func severalCallbacks() throws {
        let (tracer, _) = makeTracer()
        for incoming in [[("traceparent", Self.valid)], [], [("traceparent", "00-00000000000000000000000000000000-1234567890123456-01")]] {
            var context = ServiceContext.topLevel
            tracer.extract(incoming, into: &context, using: HeaderExtractor())
            let server = tracer.startSpan("server", context: context)
            var traceIDs: Set<TraceID> = []
            var parentIDs: Set<SpanID> = []
            for _ in 0..<3 {
                let client = tracer.startSpan("client", context: server.context, ofKind: .client)
                var outgoing: [String: String] = [:]
                tracer.inject(client.context, into: &outgoing, using: DictionaryInjector())
                let parsed = try #require(TraceParent(header: outgoing["traceparent"] ?? ""))
                traceIDs.insert(parsed.traceID)
                parentIDs.insert(parsed.parentID)
                client.end()
            }
            server.end()
            #expect(traceIDs.count == 1)
            #expect(parentIDs.count == 3)
            #expect(!traceIDs.contains(.zero))
        }
    }

    // MARK: TraceState API

    @Test("setting a tracestate key moves it to the left and keeps at most 32 members")
    func traceStateMutation() throws {
        var state = try #require(TraceState(header: "a=1,b=2,c=3"))
        let accepted = state.setValue("9", forKey: "b")
        #expect(accepted)
        #expect(state.header == "b=9,a=1,c=3")
        let rejected = state.setValue("x", forKey: "UPPER")
        #expect(!rejected)
        state.removeValue(forKey: "a")
        #expect(state.header == "b=9,c=3")
        var full = try #require(TraceState(header: (1...32).map { "k\($0)=v" }.joined(separator: ",")))
        full.setValue("new", forKey: "fresh")
        #expect(full.members.count == 32)
        #expect(full.members.first?.key == "fresh")
        #expect(full["k32"] == nil)
    }

    @Test("a traceparent round-trips through its header")
    func traceParentRoundTrip() throws {
        let parsed = try #require(TraceParent(header: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        #expect(parsed.traceID == TraceID(hex: "0af7651916cd43dd8448eb211c80319c"))
        #expect(parsed.parentID == SpanID(hex: "b7ad6b7169203331"))
        #expect(parsed.header == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    }
}
