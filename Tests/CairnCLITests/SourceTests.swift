import CairnModel
import CairnTesting
import Foundation
import Testing

@Suite("Where commands read (--db, --server, --file) and how they exit, run as processes")
struct SourceTests {
    let folder: URL

    init() throws {
        folder = try temporaryFolder()
    }

    @Test("export reads each kind of file with --file, with no store", arguments: ShopFixture.all)
    func fileSource(file: String) async throws {
        #expect(try exportedSpans(await CairnProcess.runOffPool(["export", "--all", "--file", file])) == ShopFixture.spans())
        let one = try exportedSpans(await CairnProcess.runOffPool(["export", "0af7651916cd43dd8448eb211c80319c", "--file", file]))
        #expect(one.count == 7 && Set(one.map(\.traceID.hex)) == ["0af7651916cd43dd8448eb211c80319c"])
    }

    @Test("--file is repeatable: spans of several files are read together")
    func severalFiles() async throws {
        let spans = try exportedSpans(await CairnProcess.runOffPool(
            ["export", "--all", "--file", ShopFixture.json, "--file", ShopFixture.protobuf]))
        // The same spans twice: export writes what is stored, duplicates included.
        #expect(spans == (try ShopFixture.spans()))
        let output = try await CairnProcess.runOffPool(["export", "--all", "--file", ShopFixture.json, "--file", ShopFixture.protobuf])
        #expect(output.stdout.components(separatedBy: #""spanId":"a1e3b4c5d6e7f801""#).count - 1 == 2)
    }

    @Test("--server reads what a live collector stored, as the store and the files read it")
    func serverSource() async throws {
        let db = folder.appendingPathComponent("served.db").path
        let server = try await CairnProcess.Server(db: db)
        defer { _ = server.signal(SIGTERM) }
        let url = "http://127.0.0.1:\(server.port)"
        #expect(try await CairnProcess.runOffPool(["import", "--server", url, ShopFixture.protobuf]).status == 0)

        let fromServer = try await CairnProcess.runOffPool(["export", "--all", "--server", url])
        let fromStore = try await CairnProcess.runOffPool(["export", "--all", "--db", db])
        let fromFile = try await CairnProcess.runOffPool(["export", "--all", "--file", ShopFixture.protobuf])
        #expect(try exportedSpans(fromServer) == ShopFixture.spans())
        #expect(try exportedSpans(fromStore) == exportedSpans(fromServer))
        #expect(try exportedSpans(fromFile) == exportedSpans(fromServer))

        let absent = try await CairnProcess.runOffPool(["export", String(repeating: "ab", count: 16), "--server", url + "/"])
        #expect(absent.status == 1)
        #expect(absent.stderr == "cairn: trace \(String(repeating: "ab", count: 16)) is not in the collector at \(url)/; list the traces there with `cairn traces`\n")
    }

    @Test("every analysis command prints the same through --server as on the files the collector was fed")
    func analysesAgreeAcrossSources() async throws {
        let server = try await CairnProcess.Server(db: folder.appendingPathComponent("analyses.db").path)
        defer { _ = server.signal(SIGTERM) }
        let url = "http://127.0.0.1:\(server.port)"
        #expect(try await CairnProcess.runOffPool(["import", "--server", url, ShopFixture.protobuf]).status == 0)
        let window = ["--since", "2026-03-01T00:00:00Z", "--until", "2026-04-01T00:00:00Z"]
        let commands: [[String]] = [
            ["traces"] + window, ["traces", "--service", "payments", "--errors"] + window,
            ["trace", "0af7651916cd43dd8448eb211c80319c", "--attrs"], ["trace", "4bf92f3577b34da6a3ce929d0e0e4736", "--json"],
            ["breakdown", "4bf92f3577b34da6a3ce929d0e0e4736"], ["breakdown", "--service", "checkout"] + window,
            ["deps", "--format", "json"] + window, ["deps", "--service", "payments"] + window,
        ]
        let environment = ["NO_COLOR": "1", "COLUMNS": "100", "TZ": "UTC"]
        for command in commands {
            let fromFile = try await CairnProcess.runOffPool(command + ["--file", ShopFixture.protobuf], environment: environment)
            let fromServer = try await CairnProcess.runOffPool(command + ["--server", url], environment: environment)
            #expect(fromFile.status == 0, "\(command): \(fromFile.stderr)")
            #expect(fromServer.stdout == fromFile.stdout, "\(command)")
        }
    }

    @Test("a collector that cannot be reached is one line that says how to start one, status 2")
    func unreachable() async throws {
        let output = try await CairnProcess.runOffPool(["export", "--all", "--server", "http://127.0.0.1:9"])
        #expect(output.status == 2)
        #expect(output.stderr.hasPrefix("cairn: cannot reach the collector at http://127.0.0.1:9 ("))
        #expect(output.stderr.hasSuffix("); start it with `cairn serve` or check --server\n"))

        let notURL = try await CairnProcess.runOffPool(["export", "--all", "--server", "localhost:4318"])
        #expect(notURL.status == 2)
        #expect(notURL.stderr == "cairn: localhost:4318 is not a collector URL; give --server like http://127.0.0.1:4318\n")
    }

    @Test("usage errors are one line that points at the command's help, status 2", arguments: [
        (["traces", "--db", "x.db", "--server", "http://127.0.0.1:4318"], "give one of --db (or --store), --server and --file, not several", "cairn traces"),
        (["export", "--all", "--bogus"], "unknown option '--bogus'", "cairn export"),
        (["export", "--all", "--db", "x.db", "--file", "y.json"], "give one of --db (or --store), --server and --file, not several", "cairn export"),
        (["export", "4bf92f35"], "4bf92f35 is not a trace id; give 32 hexadecimal digits", "cairn export"),
        (["import"], "missing expected argument '<file> ...'", "cairn import"),
        (["import", "a.json", "--db", "x.db", "--server", "http://127.0.0.1:4318"], "give one of --db (or --store) and --server, not both", "cairn import"),
        (["frobnicate"], "unexpected argument 'frobnicate'", "cairn"),
    ])
    func usageErrors(arguments: [String], message: String, command: String) async throws {
        let output = try await CairnProcess.runOffPool(arguments)
        #expect(output.status == 2)
        #expect(output.stdout == "")
        #expect(output.stderr == "cairn: \(message); see `\(command) --help`\n")
    }

    @Test("a store that does not exist is one line, status 2; a trace that is not found, status 1")
    func missingStore() async throws {
        let missing = folder.appendingPathComponent("none.db").path
        let output = try await CairnProcess.runOffPool(["export", "--all", "--db", missing])
        #expect(output.status == 2)
        #expect(output.stderr == "cairn: there is no store at \(missing); give the database file with --db (or a store's URL with --store), or read a collector with --server\n")
        #expect(!FileManager.default.fileExists(atPath: missing))

        let notFound = try await CairnProcess.runOffPool(["export", String(repeating: "0", count: 31) + "1", "--file", ShopFixture.json])
        #expect(notFound.status == 1)
        #expect(notFound.stderr.split(separator: "\n").count == 1)
        #expect(notFound.stderr.contains("is not in the file \(ShopFixture.json)"))
    }

    @Test("--help exits 0 and shows examples", arguments: [[], ["import"], ["export"]])
    func help(command: [String]) async throws {
        let output = try await CairnProcess.runOffPool(command + ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("Examples:"))
        #expect(output.stderr == "")
    }

    @Test("the root help documents the exit statuses")
    func statuses() async throws {
        let output = try await CairnProcess.runOffPool(["--help"])
        #expect(output.stdout.contains("Exit status: 0 on success; 1 when nothing was found"))
    }
}
