import ArgumentParser
import CairnModel
import CairnSQLite
import Foundation

/// `cairn verify-backup`: checks a backup file without changing it.
struct VerifyBackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-backup",
        abstract: "Check a backup: its integrity, and what it holds.",
        discussion: """
            Opens FILE read-only, checks that it is a Cairn store of a schema this version knows, runs SQLite's \
            PRAGMA integrity_check (which reads the whole file), and prints the schema version, the spans, the \
            newest span (RFC 3339, UTC), the size, and when the backup was taken (the file's modification time).

            --json writes an object with the keys path, ok (true), schemaVersion, spans, newestSpanStart and \
            newestSpanEnd (RFC 3339 with nanoseconds, null when there is no span), bytes, and takenAt (RFC 3339, to the \
            second).

            Exits with status 1 when the file is damaged, 2 when it is missing, not a database, or not a Cairn store.

            Examples:
              cairn verify-backup /var/backups/cairn/cairn-20261127T060000Z.db
              cairn verify-backup before-upgrade.db --json | jq .spans
            """)

    @Argument(help: ArgumentHelp("The backup file to check.", valueName: "file"))
    var file: String

    @Flag(help: "Write the report as a JSON object (keys above) instead of text.")
    var json = false

    func run() async throws {
        do { try verify() } catch let error as CLIError { error.exit() }
    }

    private func verify() throws {
        let report = try CLIError.wrapStore { try SQLiteStore.verify(path: file) }
        if json {
            write(Self.json(report) + "\n")
        } else {
            write((["\(file) is a whole Cairn store: integrity check ok"] + BackupCommand.summary(report))
                .joined(separator: "\n") + "\n")
        }
    }

    /// The report as one JSON object (keys in the discussion).
    static func json(_ report: SQLiteStore.BackupReport) -> String {
        var writer = JSONWriter()
        writer.object { writer in
            writer.member("path", report.path)
            writer.member("ok", true)
            writer.member("schemaVersion", report.schemaVersion)
            writer.member("spans", report.spanCount)
            writer.member("newestSpanStart", report.newestSpanStart.map(TimeOptions.rfc3339))
            writer.member("newestSpanEnd", report.newestSpanEnd.map(TimeOptions.rfc3339))
            writer.member("bytes", report.bytes)
            writer.member("takenAt", formatRFC3339(unixNanos: report.takenAt, fractionDigits: 0))
        }
        return writer.text
    }
}
