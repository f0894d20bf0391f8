import AsyncHTTPClient
import CairnSDK
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Tracing
import UnixSignals

/// `shop SERVICE [options]`: runs one of the four services in this process.
///
/// Each service is its own process because a process has one tracer, installed once with
/// `InstrumentationSystem.bootstrap`, and one `service.name` on its resource: four processes are four services
/// that call each other over real HTTP, as in production.
@main
struct Shop {
    static func main() async {
        if CommandLine.arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
            print(ShopOptions.usage)
            return
        }
        let options: ShopOptions
        do {
            options = try ShopOptions(arguments: Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("shop: \(error)\n\n\(ShopOptions.usage)\n".utf8))
            exit(2)
        }
        LoggingSystem.bootstrap(
            { label, provider in StreamLogHandler.standardError(label: label, metadataProvider: provider) },
            metadataProvider: .cairnTracing)
        let logger = Logger(label: "shop.\(options.service.rawValue)")
        do {
            try await run(options, logger: logger)
        } catch {
            logger.error("shop \(options.service.rawValue) stopped: \(error)")
            exit(1)
        }
    }

    static func run(_ options: ShopOptions, logger: Logger) async throws {
        // First the tracer, so that the HTTP client below (which takes InstrumentationSystem.tracer when its
        // configuration is made) and Hummingbird's TracingMiddleware use it.
        let tracing = try CairnTracingService.bootstrap(serviceName: options.service.rawValue, logger: logger)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration())
        let handlers = try ShopHandlers(options: options, client: client, logger: logger)

        let router = Router()
        router.add(middleware: TracingMiddleware())
        handlers.register(on: router)
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(options.host, port: options.port),
                                 serverName: options.service.rawValue),
            onServerRunning: { channel in
                logger.info(
                    "shop \(options.service.rawValue) listening",
                    metadata: ["url": "http://\(options.host):\(channel.localAddress?.port ?? options.port)"])
            },
            logger: logger)
        // Services shut down in reverse order: the tracer last, so that it exports the server's final spans.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: tracing), .init(service: app)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
