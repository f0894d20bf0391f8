import ArgumentParser
import CairnModel
import CairnSQLite
import Foundation

/// `cairn backup`: an online copy of the store, consistent while a collector writes to it.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the store into a new file, while a collector writes to it.",
        discussion: """
            Copies the store with SQLite's backup API (https://www.sqlite.org/backup.html) into FILE, which must not \
            exist: one snapshot of the store, holding every span that the collector answered with 200 before the \
            backup began, in one self-contained file. The collector goes on receiving meanwhile. The copy is written \
            to FILE.partial and renamed to FILE once complete, so that FILE is always a whole backup. The store records \
            the backup; the collector's /metrics reports the last one (cairn_backup_last_success_timestamp_seconds). \
            Check the copy with `cairn verify-backup`, bring it back with `cairn restore`.

            Exits with status 1 when the copy fails, 2 when the store cannot be opened or FILE exists.

            Examples:
              cairn backup --to /var/backups/cairn/cairn-$(date -u +%Y%m%dT%H%M%SZ).db
              cairn backup --db /var/lib/cairn/cairn.db --to before-upgrade.db
            """)

    @Option(help: ArgumentHelp("The backup file to write; it must not exist.", valueName: "file"))
    var to: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        do { try backup() } catch let error as CLIError { error.exit() }
    }

    private func backup() throws {
        let path = try store.location.sqlitePath(
            for: "backup", instead: "take backups with PostgreSQL's own tools (pg_dump, or pg_basebackup with WAL archiving; docs/scaling.md)")
        let report = try CLIError.wrapStore {
            let store = try SQLiteStore(path: path)
            return try store.backup(to: to)
        }
        write((["backed up the store at \(path) to \(to)"] + Self.summary(report)).joined(separator: "\n") + "\n")
    }

    /// What a backup holds, one fact a line, for `backup`, `verify-backup` and `restore`.
    static func summary(_ report: SQLiteStore.BackupReport) -> [String] {
        var lines = [
            "  schema version  \(report.schemaVersion)",
            "  spans           \(Waterfall.grouped(report.spanCount))",
        ]
        if let start = report.newestSpanStart, let end = report.newestSpanEnd {
            lines.append("  newest span     started \(TimeOptions.rfc3339(start)), ended \(TimeOptions.rfc3339(end))")
        } else {
            lines.append("  newest span     none")
        }
        lines.append("  size            \(MaintenanceCommand.bytes(report.bytes)) (\(Waterfall.grouped(report.bytes)) bytes)")
        lines.append("  taken           \(formatRFC3339(unixNanos: report.takenAt, fractionDigits: 0))")
        return lines
    }
}

extension CLIError {
    /// Runs `body`, turning a `SQLiteStoreError` into a CLIError with its message (which says what to do): status 2
    /// when the file named cannot be used, 1 when the check or the operation failed.
    static func wrapStore<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLiteStoreError {
            switch error {
            case .damaged, .inUse, .backupFailed, .backupNotRecorded, .restoreFailed, .writeBlocked, .invalidBatch:
                throw CLIError("\(error)", exitCode: 1)
            default:
                throw CLIError("\(error)", exitCode: 2)
            }
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError("\(error)", exitCode: 1)
        }
    }
}
