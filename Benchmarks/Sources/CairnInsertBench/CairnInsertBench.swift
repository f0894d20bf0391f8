import CairnBenchSupport
import CairnModel
import CairnOTLP
import CairnSQLite
import Foundation

/// `cairn-insertbench`: the SQLite insert alone, as a throughput over a whole run.
///
/// Writes `--commits` group commits of `--requests-per-commit` decoded 512-span requests into a fresh store at
/// `--db` and prints one JSON line with the spans written and the time spent in `SQLiteStore.write` (decoding is
/// done between commits and not counted). A throughput needs the total time: the cost of a commit grows with the
/// file and every 64 MiB of log one commit also checkpoints, so the median commit (what package-benchmark's
/// `sqliteInsert` reports) overstates what the store sustains.
@main
struct CairnInsertBench {
    static func main() async throws {
        var commits = 225
        var requestsPerCommit = 32
        var path = ""
        var arguments = CommandLine.arguments.dropFirst().makeIterator()
        while let argument = arguments.next() {
            switch argument {
            case "--commits": commits = Int(arguments.next() ?? "") ?? commits
            case "--requests-per-commit": requestsPerCommit = Int(arguments.next() ?? "") ?? requestsPerCommit
            case "--db": path = arguments.next() ?? ""
            default:
                FileHandle.standardError.write(Data("usage: cairn-insertbench --db FILE [--commits N] [--requests-per-commit N]\n".utf8))
                exit(2)
            }
        }
        guard !path.isEmpty, !FileManager.default.fileExists(atPath: path) else {
            FileHandle.standardError.write(Data("cairn-insertbench: give --db a path where no file exists yet\n".utf8))
            exit(2)
        }
        let pool = try RequestPool(templates: 64, spansPerRequest: 512, salt: 0x1A5E)
        let store = try SQLiteStore(path: path)
        var number: UInt64 = 0
        var spans = 0
        var elapsed = Duration.zero
        for _ in 0..<commits {
            var batches: [SpanBatch] = []
            for _ in 0..<requestsPerCommit {
                batches.append(try OTLPProtobuf.decodeRequest(pool.body(number: number)).batch)
                number += 1
            }
            let start = ContinuousClock.now
            try await store.write(batches)
            elapsed += ContinuousClock.now - start
            spans += batches.reduce(0) { $0 + $1.count }
        }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("{\"spans\":\(spans),\"commits\":\(commits),\"seconds\":\(String(format: "%.3f", seconds)),\"spans_per_s\":\(Int(Double(spans) / seconds))}")
    }
}
