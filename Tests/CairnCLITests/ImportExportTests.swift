import CairnModel
import CairnOTLP
import CairnTesting
import Foundation
import Testing

/// The shared fixtures: one small shop, as OTLP/JSON, JSON lines and protobuf.
enum ShopFixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let json = folder.appendingPathComponent("shop.otlp.json").path
    static let jsonLines = folder.appendingPathComponent("shop.jsonl").path
    static let protobuf = folder.appendingPathComponent("shop.pb").path
    static let all = [json, jsonLines, protobuf]

    /// The spans of `shop.otlp.json`, decoded in process.
    static func spans() throws -> Set<Span> {
        let decoded = try OTLPJSON.decodeSpans(Array(try Data(contentsOf: URL(fileURLWithPath: json))))
        return Set(decoded.spans)
    }
}

/// The spans of an OTLP/JSON request that `cairn export` wrote.
func exportedSpans(_ output: CairnProcess.Output) throws -> Set<Span> {
    try #require(output.status == 0, "\(output.stderr)")
    return Set(try OTLPJSON.decodeSpans(Array(output.stdout.utf8)).spans)
}

/// A new temporary folder.
func temporaryFolder() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite("cairn import and cairn export, run as processes on the shop fixtures")
struct ImportExportTests {
    let folder: URL

    init() throws {
        folder = try temporaryFolder()
    }

    @Test("the three fixtures hold the same 21 spans of 3 traces")
    func fixturesAgree() throws {
        let spans = try ShopFixture.spans()
        #expect(spans.count == 21)
        #expect(Set(spans.map(\.traceID)).count == 3)
        #expect(Set(spans.map(\.serviceName)) == ["frontend", "checkout", "payments", "inventory"])
        let lines = try String(contentsOfFile: ShopFixture.jsonLines, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 3)
        let fromLines = try lines.flatMap { try OTLPJSON.decodeSpans(Array($0.utf8)).spans }
        #expect(Set(fromLines) == spans)
        let protobuf = try OTLPProtobuf.decodeSpans(Array(try Data(contentsOf: URL(fileURLWithPath: ShopFixture.protobuf))))
        #expect(Set(protobuf) == spans)
    }

    @Test("each kind of file imports into a new store and exports back equal", arguments: ShopFixture.all)
    func importExport(file: String) async throws {
        let db = folder.appendingPathComponent("import.db").path
        let imported = try await CairnProcess.runOffPool(["import", file, "--db", db])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout == "imported 21 spans in 3 traces from 1 file\n")
        #expect(imported.stderr == "")
        #expect(try exportedSpans(await CairnProcess.runOffPool(["export", "--all", "--db", db])) == ShopFixture.spans())
    }

    @Test("a gzip file imports as its content does, whatever its name")
    func gzip() async throws {
        let compressed = folder.appendingPathComponent("shop-lines.data").path
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(ShopFixture.jsonLines)' > '\(compressed)'"]
        try gzip.run()
        gzip.waitUntilExit()
        try #require(gzip.terminationStatus == 0)
        let db = folder.appendingPathComponent("gzip.db").path
        let imported = try await CairnProcess.runOffPool(["import", compressed, "--db", db])
        #expect(imported.stdout == "imported 21 spans in 3 traces from 1 file\n", "\(imported.stderr)")
        #expect(try exportedSpans(await CairnProcess.runOffPool(["export", "--all", "--db", db])) == ShopFixture.spans())
    }

    @Test("importing several files counts spans and traces over all of them")
    func severalFiles() async throws {
        let db = folder.appendingPathComponent("several.db").path
        let imported = try await CairnProcess.runOffPool(["import", "--db", db] + ShopFixture.all)
        #expect(imported.stdout == "imported 63 spans in 3 traces from 3 files\n", "\(imported.stderr)")
        let exported = try await CairnProcess.runOffPool(["export", "4bf92f3577b34da6a3ce929d0e0e4736", "--db", db])
        let spans = try OTLPJSON.decodeSpans(Array(exported.stdout.utf8)).spans
        #expect(spans.count == 3 * 12)
    }

    @Test("export --protobuf writes the request that protobuf import reads")
    func protobufExport() throws {
        let output = folder.appendingPathComponent("out.pb")
        // `CairnProcess.run` reads output as text: let the shell write the bytes to a file.
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "'\(CairnProcess.executable.path)' export --all --protobuf --file '\(ShopFixture.json)' > '\(output.path)'"]
        try shell.run()
        shell.waitUntilExit()
        #expect(shell.terminationStatus == 0)
        let spans = try OTLPProtobuf.decodeSpans(Array(try Data(contentsOf: output)))
        #expect(Set(spans) == (try ShopFixture.spans()))
    }

    @Test("a file that is not OTLP stops the import with one line naming the file and line, and imports nothing of it")
    func badFile() async throws {
        let bad = folder.appendingPathComponent("bad.jsonl")
        let lines = try String(contentsOfFile: ShopFixture.jsonLines, encoding: .utf8).split(separator: "\n")
        let content: String = String(lines[0]) + "\n\n" + #"{"resourceSpans": [{"scopeSpans": 7}]}"# + "\n" + String(lines[1]) + "\n"
        try content.write(
            to: bad, atomically: true, encoding: .utf8)
        let db = folder.appendingPathComponent("bad.db").path
        let output = try await CairnProcess.runOffPool(["import", ShopFixture.json, bad.path, "--db", db])
        #expect(output.status == 2)
        #expect(output.stdout == "")
        #expect(output.stderr.split(separator: "\n").count == 1)
        #expect(output.stderr.hasPrefix("cairn: file \(bad.path) line 3 is not OTLP/JSON: "), "\(output.stderr)")
        #expect(output.stderr.contains("(the file before it was imported)"))
        // The first file is in the store, nothing of the bad one.
        let exported = try exportedSpans(await CairnProcess.runOffPool(["export", "--all", "--db", db]))
        #expect(exported == (try ShopFixture.spans()))
    }

    @Test("files of another kind, or missing, are refused in one line with status 2", arguments: [
        ("text", Data("hello, world\n".utf8), "is neither OTLP/JSON nor OTLP protobuf"),
        ("json", Data(#"{"resourceSpans": "#.utf8), "is not OTLP/JSON: "),
        ("protobuf", Data([0x0A, 0x50, 0x01]), "is not OTLP protobuf: "),
        ("gzip", Data([0x1F, 0x8B, 0x08, 0x00, 0x01]), "gzip"),
    ])
    func otherFiles(name: String, content: Data, message: String) async throws {
        let file = folder.appendingPathComponent(name)
        try content.write(to: file)
        let output = try await CairnProcess.runOffPool(["import", file.path, "--db", folder.appendingPathComponent("x.db").path])
        #expect(output.status == 2)
        #expect(output.stderr.split(separator: "\n").count == 1)
        #expect(output.stderr.hasPrefix("cairn: file \(file.path) "), "\(output.stderr)")
        #expect(output.stderr.contains(message), "\(output.stderr)")

        // A missing file is reported before the store is opened: the other file is not imported, and no store is made.
        let db = folder.appendingPathComponent("\(name)-missing.db").path
        let nope = folder.appendingPathComponent("nope.json").path
        let missing = try await CairnProcess.runOffPool(["import", ShopFixture.json, nope, "--db", db])
        #expect(missing.status == 2)
        #expect(missing.stderr == "cairn: there is no file \(nope); check the path\n")
        #expect(!FileManager.default.fileExists(atPath: db))
    }

    @Test("rejected spans are reported, and a file with nothing to import exits 1")
    func rejected() async throws {
        let file = folder.appendingPathComponent("rejected.json")
        try #"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"00000000000000000000000000000000","spanId":"0000000000000001","name":"zero trace id"},
              {"traceId":"0000000000000000000000000000000a","spanId":"0000000000000002","name":""}
            ]}]}]}
            """#.write(to: file, atomically: true, encoding: .utf8)
        let output = try await CairnProcess.runOffPool(["import", file.path, "--db", folder.appendingPathComponent("r.db").path])
        #expect(output.status == 1)
        #expect(output.stdout == "")
        let lines = output.stderr.split(separator: "\n")
        #expect(lines.first == "cairn: 2 spans of \(file.path) were left out: a span's trace_id is not 16 bytes or is all zero")
        #expect(lines.last?.hasPrefix("cairn: nothing was imported: every span was rejected") == true)
    }

    @Test("import into a running collector, then export from it, gives the spans back")
    func importToServer() async throws {
        let server = try await CairnProcess.Server(db: folder.appendingPathComponent("served.db").path)
        defer { _ = server.signal(SIGTERM) }
        let url = "http://127.0.0.1:\(server.port)"
        let imported = try await CairnProcess.runOffPool(["import", "--server", url, ShopFixture.jsonLines])
        #expect(imported.stdout == "imported 21 spans in 3 traces from 1 file\n", "\(imported.stderr)")
        #expect(try exportedSpans(await CairnProcess.runOffPool(["export", "--all", "--server", url])) == ShopFixture.spans())
    }
}
