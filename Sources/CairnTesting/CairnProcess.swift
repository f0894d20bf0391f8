import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built `cairn` executable (`.build/debug/cairn`, built by `swift build --build-tests`), run as a user runs it:
/// one command to completion, or `cairn serve` in the background.
public enum CairnProcess {
    public static let executable = built("cairn")

    /// A program that `swift build --build-tests` built, by name (`.build/debug/<name>`).
    public static func built(_ name: String) -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/\(name)")
    }

    /// What a finished run wrote and how it exited.
    public struct Output: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `cairn` with the arguments to completion.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        try runTool(executable.path, arguments, environment: environment)
    }

    /// `run` on a thread of its own, for async tests: waiting for the process then holds none of the concurrency
    /// pool's few threads (two on a 2-core machine), which the tests running beside it need.
    public static func runOffPool(_ arguments: [String], environment: [String: String] = [:]) async throws -> Output {
        try await runToolOffPool(executable.path, arguments, environment: environment)
    }

    /// `runTool` on a thread of its own (see `runOffPool`).
    public static func runToolOffPool(
        _ path: String, _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try runTool(path, arguments, environment: environment) }) }.start()
        }
    }

    /// Runs the program at `path` with the arguments to completion.
    public static func runTool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                      stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// A running `cairn serve` on a free port. Its output (JSON log lines) is read all along, so that the collector
    /// never blocks on a full pipe, and kept for tests to read (`output`).
    public final class Server: @unchecked Sendable {
        public let process = Process()
        /// The port it listens on.
        public let port: Int
        private let pipe = Pipe()
        private let collected = Collected()

        /// What the collector wrote, appended by a reading thread.
        private final class Collected: @unchecked Sendable {
            private let lock = NSLock()
            private var data = Data()
            func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
            var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
        }

        /// Starts `cairn serve --port 0 --db DB` with more arguments and environment, and waits until it listens.
        public convenience init(db: String, arguments: [String] = [], environment: [String: String] = [:]) async throws {
            try await self.init(arguments: ["--db", db] + arguments, environment: environment)
        }

        /// Starts `cairn serve --port 0` with the arguments (which name its store) and environment, and waits until
        /// it listens.
        public init(arguments: [String], environment: [String: String] = [:]) async throws {
            process.executableURL = CairnProcess.executable
            process.arguments = ["serve", "--port", "0"] + arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = pipe
            process.standardError = pipe
            let reader = pipe.fileHandleForReading
            let collected = self.collected
            let thread = Thread {
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { return }
                    collected.append(chunk)
                }
            }
            try process.run()
            thread.start()
            // The collector logs where it listens: {"message":"listening",...,"url":"http://127.0.0.1:PORT"}
            let deadline = Date().addingTimeInterval(60)
            var found: Int?
            while found == nil && Date() < deadline && process.isRunning {
                let text = collected.text
                if let range = text.range(of: #""url":"https?://127\.0\.0\.1:\d+""#, options: .regularExpression) {
                    found = Int(text[range].dropLast().split(separator: ":").last ?? "")
                } else {
                    // Waits without holding one of the concurrency pool's few threads, which other tests need.
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
            guard let found else { throw CairnProcessError("cairn serve did not say where it listens: \(collected.text)") }
            port = found
        }

        /// Everything the collector wrote so far, standard output and error.
        public var output: String { collected.text }

        /// Posts an OTLP/JSON body; returns the status code.
        public func post(json body: String, headers: [String: String] = [:]) async throws -> Int {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/traces")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            request.httpBody = Data(body.utf8)
            let (_, response) = try await URLSession.shared.data(for: request)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }

        /// Sends `signal` and returns the exit status once the process has ended.
        public func signal(_ signal: Int32) -> Int32 {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            return process.terminationStatus
        }
    }
}

/// A process that did not start as expected.
public struct CairnProcessError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
