import ArgumentParser
import CairnModel
import CairnSQLite
import Foundation

/// `cairn maintenance`: analyses the store, gives its free pages back, and lists the size of its tables and indexes.
struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Analyse the store, give its free space back, and show the size of each table and index.",
        discussion: """
            Runs ANALYZE and PRAGMA optimize, then an incremental vacuum that gives the pages freed by deleted spans \
            (cairn serve --retention) back to the file system, then truncates the write-ahead log when no reader \
            holds it. Prints the store's size on disk (the file and its log) before and after, the free pages, and \
            each table and index with its size, largest first (measuring reads the whole file).

            A store created by a Cairn version before incremental vacuum is converted once, by a full VACUUM that \
            rewrites the file: it needs free disk space of about twice the file, and a collector writing to the \
            store waits until it is done (or fails its commits after its busy timeout), so stop the collector for \
            that run. Later runs are short and safe while a collector writes.

            --json writes an object with the keys path, autoVacuum, convertedToIncremental, pageSize, \
            fileBytesBefore, fileBytes, walBytes, freePagesBefore, freePages, and objects (an array of name, table, \
            type, pages and bytes; null when SQLite was built without its dbstat table).

            Examples:
              cairn maintenance --db /var/lib/cairn/cairn.db
              cairn maintenance --json | jq '.objects[] | select(.type == "index")'
            """)

    @OptionGroup var store: StoreOptions

    @Flag(help: "Write the report as a JSON object (keys above) instead of text.")
    var json = false

    func run() async throws {
        do { try maintain() } catch let error as CLIError { error.exit() }
    }

    private func maintain() throws {
        let path = try store.location.sqlitePath(
            for: "maintenance",
            instead: "PostgreSQL's autovacuum analyzes and vacuums, and --retention drops whole day partitions (docs/scaling.md)")
        let store = try CLIError.wrap("cannot open the store at \(path)") { try SQLiteStore(path: path) }
        let report = try CLIError.wrap("the maintenance of the store at \(path) failed, and changed nothing") {
            try store.maintenance()
        }
        let lines = json ? [Self.json(report, path: path)] : Self.text(report, path: path, terminal: .detect())
        write(lines.joined(separator: "\n") + "\n")
    }

    /// The report as lines of text: a summary, then the table of tables and indexes.
    static func text(_ report: SQLiteStore.MaintenanceReport, path: String, terminal: Terminal) -> [String] {
        var lines = ["maintained the store at \(path): analysed, \(report.autoVacuum) auto-vacuum"]
        if report.convertedToIncremental {
            lines.append("converted the store to incremental auto-vacuum, once, with a full VACUUM")
        }
        let freed = report.freePagesBefore - report.freePages
        lines.append("free pages: \(Waterfall.grouped(report.freePagesBefore)) before,"
            + " \(Waterfall.grouped(report.freePages)) after (\(bytes(freed * report.pageSize)) reclaimed)")
        lines.append("on disk: \(bytes(report.fileBytesBefore)) before, \(bytes(report.fileBytes)) after"
            + " (of which the write-ahead log \(bytes(report.walBytes)))")
        guard let objects = report.objects else {
            lines.append("sizes per table need SQLite's dbstat table, which this SQLite lacks")
            return lines
        }
        var table = Table(columns: [
            .init("NAME", truncatable: true, minimumWidth: 16), .init("TYPE"), .init("TABLE"),
            .init("PAGES", alignment: .right), .init("SIZE", alignment: .right),
        ])
        for object in objects {
            table.rows.append([object.name, object.isIndex ? "index" : "table", object.table,
                               Waterfall.grouped(object.pages), bytes(object.bytes)])
        }
        lines.append("")
        lines += table.render(width: terminal.width) { row, _, text in row == nil ? terminal.paint(text, .bold) : text }
        return lines
    }

    /// The report as one JSON object (keys in the discussion).
    static func json(_ report: SQLiteStore.MaintenanceReport, path: String) -> String {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("path", path)
            writer.member("autoVacuum", report.autoVacuum)
            writer.member("convertedToIncremental", report.convertedToIncremental)
            writer.member("pageSize", report.pageSize)
            writer.member("fileBytesBefore", report.fileBytesBefore)
            writer.member("fileBytes", report.fileBytes)
            writer.member("walBytes", report.walBytes)
            writer.member("freePagesBefore", report.freePagesBefore)
            writer.member("freePages", report.freePages)
            writer.key("objects")
            guard let objects = report.objects else { return writer.null() }
            writer.array(objects) { writer, object in
                writer.object { writer in
                    writer.member("name", object.name)
                    writer.member("table", object.table)
                    writer.member("type", object.isIndex ? "index" : "table")
                    writer.member("pages", object.pages)
                    writer.member("bytes", object.bytes)
                }
            }
        }
        return writer.text
    }

    /// A size in binary units, to three significant digits: `512 B`, `4.00 KiB`, `12.3 MiB`, `1.05 GiB`.
    static func bytes(_ count: Int) -> String {
        var value = Double(count)
        var unit = 0
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        while value >= 1_024 && unit < units.count - 1 {
            value /= 1_024
            unit += 1
        }
        guard unit > 0 else { return "\(count) B" }
        let digits = value < 10 ? 2 : value < 100 ? 1 : 0
        return String(format: "%.\(digits)f", value) + " " + units[unit]
    }
}
