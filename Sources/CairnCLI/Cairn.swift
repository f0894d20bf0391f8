import ArgumentParser
import Foundation

/// The `cairn` command: distributed tracing for Swift services, from the collector to the analyzer.
@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Distributed tracing: collect OpenTelemetry spans and analyse traces.",
        discussion: """
            Start the collector with `cairn serve`, then point any OpenTelemetry SDK's OTLP/HTTP exporter at it \
            (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318).

            The analysis commands read the local store (--db, default ./cairn.db, readable while a collector writes \
            to it), a running collector (--server URL) or OTLP files with no store at all (--file), and compute the \
            same results from each. Colour is used only on a terminal, and never when NO_COLOR is set.

            Exit status: 0 on success; 1 when nothing was found (a trace, a match) or an operation failed; 2 on a \
            usage error: a wrong option or argument, or a store, file or collector that cannot be used.

            Examples:
              cairn serve --db /var/lib/cairn/cairn.db
              cairn import otel-collector/traces.jsonl
              cairn export 4bf92f3577b34da6a3ce929d0e0e4736 --server http://127.0.0.1:4318
            """,
        subcommands: [
            ServeCommand.self, TracesCommand.self, TraceCommand.self, BreakdownCommand.self, DepsCommand.self,
            ReportCommand.self, ImportCommand.self, ExportCommand.self,
            MaintenanceCommand.self,
            BackupCommand.self, VerifyBackupCommand.self, RestoreCommand.self,
        ])

    /// The exit status of a usage error: 2, as grep and most Unix tools use, rather than ArgumentParser's 64.
    static let usageErrorStatus: Int32 = 2

    /// Parses the command line and runs the command: `--help` exits 0, a usage error writes one line that says
    /// what is wrong and where to look, and exits 2, and a `CLIError` exits with its status.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as CLIError {
            error.exit()
        } catch {
            let status = exitCode(for: error)
            if status == .validationFailure {
                usageError(error)
            }
            exit(withError: error)
        }
    }

    /// Writes ArgumentParser's message for a usage error on one line, with the help to read, and exits 2.
    private static func usageError(_ error: any Error) -> Never {
        // "Unknown option '--x'. Did you mean '--y'?" becomes "unknown option '--x'; did you mean '--y'?".
        let text = message(for: error).split(whereSeparator: \.isNewline).joined(separator: " ")
        var message = text.components(separatedBy: ". ").map { sentence in
            guard let first = sentence.first, first.isUppercase, sentence.dropFirst().first?.isLowercase == true else {
                return sentence
            }
            return first.lowercased() + sentence.dropFirst()
        }.joined(separator: "; ")
        while message.hasSuffix(".") || message.hasSuffix(" ") { message.removeLast() }
        let names = configuration.subcommands.compactMap { $0.configuration.commandName }
        let command = CommandLine.arguments.dropFirst().first { names.contains($0) }.map { "cairn \($0)" } ?? "cairn"
        let help = message.hasSuffix("?") ? " See `\(command) --help`." : "; see `\(command) --help`"
        FileHandle.standardError.write(Data("cairn: \(message)\(help)\n".utf8))
        Foundation.exit(usageErrorStatus)
    }
}
