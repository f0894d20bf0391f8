import ArgumentParser
import CairnSQLite
import Foundation

/// `cairn restore`: replaces the store with a backup, once no process has the store open.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the store with a backup; stop the collector first.",
        discussion: """
            Verifies FILE as `cairn verify-backup` does, copies it beside the store, and renames the copy over the \
            store (creating it when there is none), removing the store's write-ahead log: the store is either the \
            old one, whole, or the backup. The spans of the old store are gone.

            Refuses while any process has the store open (a running `cairn serve`, or a command reading it): the \
            restore takes SQLite's exclusive lock on the store, which such a process's shared lock prevents. Stop \
            the collector, restore, then start it again. Also refuses to replace a file that is not a Cairn store.

            Exits with status 1 when the backup is damaged, the store is in use or the copy fails; 2 when the \
            backup is missing or not a Cairn store, or --db names another kind of file.

            Examples:
              systemctl stop cairn
              cairn restore /var/backups/cairn/before-upgrade.db --db /var/lib/cairn/cairn.db
              systemctl start cairn
            """)

    @Argument(help: ArgumentHelp("The backup file to restore.", valueName: "file"))
    var file: String

    @OptionGroup var store: StoreOptions

    func run() async throws {
        do { try restore() } catch let error as CLIError { error.exit() }
    }

    private func restore() throws {
        let path = try store.location.sqlitePath(
            for: "restore", instead: "restore with PostgreSQL's own tools (pg_restore; docs/scaling.md)", mustExist: false)
        let report = try CLIError.wrapStore { try SQLiteStore.restore(from: file, to: path) }
        write((["restored \(file) into the store at \(path)"] + BackupCommand.summary(report)).joined(separator: "\n")
            + "\n")
    }
}
