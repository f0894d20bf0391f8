import ArgumentParser

/// The `cairn` command: distributed tracing for Swift services, from the collector to the analyzer.
@main
struct Cairn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Distributed tracing: collect OpenTelemetry spans and analyse traces.",
        discussion: """
            Start the collector with `cairn serve`, then point any OpenTelemetry SDK's OTLP/HTTP exporter at it \
            (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318).
            """,
        subcommands: [ServeCommand.self, ExportCommand.self])
}
