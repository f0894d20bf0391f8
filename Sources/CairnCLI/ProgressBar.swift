import Foundation

/// A progress bar on standard error: a bar, what is done of the total (bytes), the rate and a note, redrawn in place
/// at most ten times a second.
///
/// It draws only when standard error is a terminal and `TERM` is not `dumb`, so that logs and pipes never see it;
/// otherwise every method does nothing. Standard output is left to the command's results.
final class ProgressBar {
    /// Whether the bar is drawn.
    let isEnabled: Bool
    private let total: Int
    private let started = Date()
    private var lastDrawn = Date.distantPast
    private var drewSomething = false

    /// A bar for `total` bytes.
    init(total: Int) {
        self.total = max(total, 1)
        isEnabled = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    /// Shows that `done` bytes of the total are done, with a note (what is being read, spans so far); redraws only
    /// if the last drawing is a tenth of a second old, or when `force`.
    func update(done: Int, note: String, force: Bool = false) {
        guard isEnabled else { return }
        let now = Date()
        guard force || now.timeIntervalSince(lastDrawn) >= 0.1 else { return }
        lastDrawn = now
        let fraction = min(1, Double(done) / Double(total))
        let seconds = now.timeIntervalSince(started)
        let rate = seconds > 0.2 ? Self.bytes(Int(Double(done) / seconds)) + "/s" : ""
        let counts = "\(Self.bytes(done)) / \(Self.bytes(total))"
        let width = Self.columns()
        let fixed = "  \(counts)  \(rate)  \(note)"
        let barWidth = max(10, min(40, width - fixed.count - 4))
        let filled = Int(fraction * Double(barWidth))
        var line = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]" + fixed
        if line.count > width - 1 { line = String(line.prefix(max(0, width - 1))) }
        FileHandle.standardError.write(Data("\r\u{1B}[K\(line)".utf8))
        drewSomething = true
    }

    /// Erases the bar, so that what follows starts on a clean line.
    func finish() {
        guard isEnabled, drewSomething else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drewSomething = false
    }

    /// A byte count for people: 512 B, 3.4 kB, 12.0 MB, 1.3 GB (powers of 1000).
    static func bytes(_ count: Int) -> String {
        let value = Double(count)
        switch value {
        case ..<1_000: return "\(count) B"
        case ..<1_000_000: return String(format: "%.1f kB", value / 1_000)
        case ..<1_000_000_000: return String(format: "%.1f MB", value / 1_000_000)
        default: return String(format: "%.1f GB", value / 1_000_000_000)
        }
    }

    /// The width of the terminal behind standard error, else `COLUMNS`, else 80.
    private static func columns() -> Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return ProcessInfo.processInfo.environment["COLUMNS"].flatMap { Int($0) } ?? 80
    }
}
