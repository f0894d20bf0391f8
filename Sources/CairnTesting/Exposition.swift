import Foundation

/// Samples of a Prometheus text exposition, by the sample's name and labels exactly as written:
/// `cairn_http_requests_total{route="/v1/traces",method="POST",status="200"}`.
public struct Exposition: Sendable {
    public let text: String
    public let samples: [String: Double]

    public init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        self.samples = samples
    }

    public subscript(_ sample: String) -> Double? { samples[sample] }

    /// The metric families that `# TYPE` lines declare.
    public var families: Set<String> {
        Set(text.split(separator: "\n").compactMap { line in
            line.hasPrefix("# TYPE ") ? line.split(separator: " ").dropFirst(2).first.map(String.init) : nil
        })
    }

    /// `promtool check metrics` on the exposition (Debian's prometheus package): nil when it finds nothing,
    /// else what it printed.
    public func promtoolProblems() throws -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return process.terminationStatus == 0 && printed.isEmpty ? nil : "exit \(process.terminationStatus): \(printed)"
    }
}
