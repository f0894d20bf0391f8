import Foundation

/// An error a user can meet: one line on standard error and an exit status, with no stack trace.
///
/// Statuses follow the CLI's convention: 1 when nothing was found (or nothing was done), 2 when the command line or
/// what it names (a store, a file, a server URL) cannot be used.
struct CLIError: Error, CustomStringConvertible {
    var message: String
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }

    /// Writes the message as one line on standard error and exits with the status.
    func exit() -> Never {
        FileHandle.standardError.write(Data("cairn: \(message)\n".utf8))
        Foundation.exit(exitCode)
    }

    /// Runs `body`, turning any error into a CLIError that starts with `context`.
    static func wrap<T>(_ context: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as CLIError { throw error } catch { throw CLIError("\(context): \(error)") }
    }
}
