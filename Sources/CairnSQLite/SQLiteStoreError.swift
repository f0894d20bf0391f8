import GRDB

/// Why a `SQLiteStore` could not be opened, written, backed up or restored; each says what happened and what to do, in one sentence.
public enum SQLiteStoreError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or created: its directory is missing, or not readable or writable.
    case cannotOpen(path: String, reason: String)
    /// The file or its directory is read-only.
    case notWritable(path: String)
    /// A write cannot start now: another process holds the write lock, or the file system refuses.
    case writeBlocked(path: String, reason: String)
    /// The file exists but is not a SQLite database.
    case notADatabase(path: String)
    /// The file is a SQLite database of another application.
    case notACairnStore(path: String)
    /// The file was written by a newer version of Cairn, with schema migrations that this version does not know.
    case newerSchema(path: String, migrations: [String])
    /// A batch refers to bytes, resources or scopes that it does not hold: a bug in the code that built it.
    case invalidBatch(String)
    /// A backup's destination exists already; a backup never replaces a file.
    case destinationExists(path: String)
    /// The copy of a backup failed; nothing was left at the destination.
    case backupFailed(path: String, reason: String)
    /// The backup is complete, but the store could not record it (`lastBackup()`).
    case backupNotRecorded(path: String, store: String, reason: String)
    /// The file to verify or restore from does not exist.
    case noSuchFile(path: String)
    /// The file to verify or restore from is not a SQLite database, or not a Cairn store.
    case notABackup(path: String, reason: String)
    /// The file is a Cairn store that SQLite's integrity check, or a read, finds damaged.
    case damaged(path: String, problem: String)
    /// A restore's target is open in another process or connection (a collector, a command reading it).
    case inUse(path: String)
    /// A restore failed before it replaced the target, which was left as it was.
    case restoreFailed(path: String, reason: String)

    /// What happened and what to do, in one sentence.
    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            "cannot open or create the store at \(path) (\(reason)); check that its directory exists and is writable by this user."
        case let .notWritable(path):
            "the store at \(path) is read-only; make the file and its directory writable by this user, or choose another file."
        case let .writeBlocked(path, reason):
            "the store at \(path) cannot take its write lock (\(reason)); stop any other process that writes to it, and check the disk and the file system."
        case let .notADatabase(path):
            "\(path) is not a SQLite database; choose another file, or move this one away so that a new store is created there."
        case let .notACairnStore(path):
            "\(path) is a SQLite database of another application; choose another file for the Cairn store."
        case let .newerSchema(path, migrations):
            "the store at \(path) was written by a newer version of Cairn (schema \(migrations.joined(separator: ", "))); upgrade Cairn to open it, or choose another file."
        case let .invalidBatch(reason):
            "a span batch is malformed (\(reason)); nothing of this write was stored, and the code that built the batch needs fixing."
        case let .destinationExists(path):
            "\(path) exists already; give a new file for the backup, or move this one away first."
        case let .backupFailed(path, reason):
            "the backup to \(path) failed (\(reason)) and left nothing there; check the free space and the permissions of its directory, then run it again."
        case let .backupNotRecorded(path, store, reason):
            "the backup at \(path) is complete, but the store at \(store) could not record it (\(reason)), so the last-backup metric does not count it; check that the store is writable, then take the next backup."
        case let .noSuchFile(path):
            "there is no file at \(path); check the path of the backup."
        case let .notABackup(path, reason):
            "\(path) is not a Cairn backup (\(reason)); give a file that cairn backup wrote."
        case let .damaged(path, problem):
            "\(path) is damaged (\(problem)); do not restore it: take a new backup, or use an older one that verifies."
        case let .inUse(path):
            "the store at \(path) is open in another process (a running cairn serve, or a command reading it); stop it, then run the restore again."
        case let .restoreFailed(path, reason):
            "the restore into \(path) failed (\(reason)) and left the store there as it was; check the free space and the permissions of its directory, then run it again."
        }
    }

    /// The error to report for a failure while opening the store.
    init(opening path: String, _ error: any Error) {
        guard let error = error as? DatabaseError else {
            self = .cannotOpen(path: path, reason: "\(error)")
            return
        }
        switch error.resultCode {
        case .SQLITE_NOTADB: self = .notADatabase(path: path)
        case .SQLITE_READONLY, .SQLITE_PERM: self = .notWritable(path: path)
        default: self = .cannotOpen(path: path, reason: error.message ?? "\(error.resultCode)")
        }
    }
}
