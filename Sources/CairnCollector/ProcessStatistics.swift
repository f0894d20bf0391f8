#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What `/metrics` reports of the collector's own process, read from Linux's `/proc`, under the names Prometheus's
/// client libraries use (`process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`, ...).
struct ProcessStatistics: Sendable {
    /// User and system CPU time.
    var cpuSeconds: Double
    var residentMemoryBytes: Int
    var virtualMemoryBytes: Int
    var openFileDescriptors: Int
    var maxFileDescriptors: Int
    /// Start of the process in seconds since the Unix epoch.
    var startTimeSeconds: Double

    /// The current process's statistics; nil where `/proc` is missing (not Linux).
    static func current() -> ProcessStatistics? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let bootTime = bootTimeSeconds()
        else { return nil }
        // The fields after the command name, which is in parentheses and may contain spaces: field 3 is at index 0.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard fields.count > 21, let user = Double(fields[11]), let system = Double(fields[12]),
              let started = Double(fields[19]), let virtual = Int(fields[20])
        else { return nil }
        let pages = statm.split(separator: " ")
        guard pages.count > 1, let resident = Int(pages[1]) else { return nil }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
        return ProcessStatistics(
            cpuSeconds: (user + system) / ticks,
            residentMemoryBytes: resident * Int(sysconf(Int32(_SC_PAGESIZE))),
            virtualMemoryBytes: virtual,
            openFileDescriptors: max(0, descriptors - 1),  // less the descriptor that lists the folder
            maxFileDescriptors: Int(clamping: limit.rlim_cur),
            startTimeSeconds: bootTime + started / ticks)
    }

    /// The `btime` line of `/proc/stat`: when the system booted, in seconds since the Unix epoch.
    private static func bootTimeSeconds() -> Double? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in stat.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
