import Foundation

/// Graphviz's `dot`, run as a separate process to render DOT text as SVG or PNG.
///
/// `dot` is looked for on `PATH` only, as a shell would. When it is missing, `render` throws a `CLIError` (exit
/// status 1) that says how to install it. See [the dot command](https://graphviz.org/doc/info/command.html).
struct Graphviz: Sendable {
    /// The `dot` executable.
    var executable: URL

    /// The output formats that `cairn` asks `dot` for.
    enum Format: String, CaseIterable, Sendable {
        case svg, png
    }

    /// The message for a machine without Graphviz, with the command that installs it.
    static var notInstalledMessage: String {
        #if os(macOS)
        "Graphviz's dot is not installed; install it with: brew install graphviz"
        #else
        "Graphviz's dot is not installed; install it with: sudo apt-get install graphviz"
        #endif
    }

    /// `dot` as found on `path` (a `PATH`-style list of folders; this process's `PATH` by default), or nil.
    static func find(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> Graphviz? {
        for folder in (path ?? "").split(separator: ":", omittingEmptySubsequences: true) {
            let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent("dot")
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isFolder), !isFolder.boolValue,
               FileManager.default.isExecutableFile(atPath: candidate.path) {
                return Graphviz(executable: candidate)
            }
        }
        return nil
    }

    /// `dot` found on `PATH`; a `CLIError` that says how to install Graphviz when it is not there.
    static func require() throws -> Graphviz {
        guard let graphviz = find() else { throw CLIError(notInstalledMessage, exitCode: 1) }
        return graphviz
    }

    /// The output of `dot -T<format>` for the DOT text `source`; a `CLIError` when `dot` fails.
    func render(_ source: String, as format: Format) throws -> Data {
        // Files rather than pipes for all three streams: nothing can fill a pipe buffer and block either process.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-dot-\(UUID().uuidString)")
        try CLIError.wrap("cannot create a temporary folder at \(folder.path); check TMPDIR") {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("graph.dot")
        let output = folder.appendingPathComponent("graph.\(format.rawValue)")
        let errors = folder.appendingPathComponent("errors.txt")
        try CLIError.wrap("cannot write a temporary file in \(folder.path); check TMPDIR") {
            try Data(source.utf8).write(to: input)
            try Data().write(to: errors)
        }

        let process = Process()
        process.executableURL = executable
        process.arguments = ["-T\(format.rawValue)", "-o", output.path, input.path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        let errorHandle = try CLIError.wrap("cannot open \(errors.path)") { try FileHandle(forWritingTo: errors) }
        process.standardError = errorHandle
        try CLIError.wrap("cannot run \(executable.path); check that Graphviz is installed correctly") {
            try process.run()
        }
        process.waitUntilExit()
        try? errorHandle.close()

        guard process.terminationStatus == 0, let data = try? Data(contentsOf: output) else {
            let message = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
            let firstLine = message.split(whereSeparator: \.isNewline).first.map(String.init) ?? "no message"
            throw CLIError(
                "\(executable.path) failed with status \(process.terminationStatus) (\(firstLine)); check the Graphviz installation",
                exitCode: 1)
        }
        return data
    }

    /// The version line `dot -V` prints, such as `dot - graphviz version 2.43.0 (0)`; nil when it cannot be read.
    func version() -> String? {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["-V"]
        let pipe = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = pipe
        process.standardError = pipe  // `dot -V` writes to standard error
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first
        return line.map { String($0) }
    }
}
