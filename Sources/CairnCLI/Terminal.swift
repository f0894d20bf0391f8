import Foundation

/// What standard output is: whether it takes colour, and how wide it is.
///
/// Colour goes only to a terminal, never to a pipe or a file, and never when `NO_COLOR` is set to anything
/// (https://no-color.org) or `TERM` is `dumb`. The width is `COLUMNS` when set, else the terminal's, else 100.
struct Terminal: Sendable {
    /// Whether to write ANSI colour codes.
    var colors: Bool
    /// Columns available on a line.
    var width: Int
    /// Whether standard output is a terminal (progress bars and other live output go only there).
    var isTerminal: Bool

    /// The terminal of this process's standard output.
    static func detect() -> Terminal {
        let environment = ProcessInfo.processInfo.environment
        let isTerminal = isatty(STDOUT_FILENO) == 1
        let colors = isTerminal && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        var width = 100
        if let columns = environment["COLUMNS"].flatMap({ Int($0) }), columns > 0 {
            width = columns
        } else if isTerminal {
            var size = winsize()
            if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { width = Int(size.ws_col) }
        }
        return Terminal(colors: colors, width: width, isTerminal: isTerminal)
    }

    /// A style of text.
    enum Style: Sendable {
        case bold, dim, red, green, yellow, blue, magenta, cyan
        /// The colour of the n-th service, from a palette that tells neighbours apart.
        case service(Int)

        var code: String {
            switch self {
            case .bold: "1"
            case .dim: "2"
            case .red: "31"
            case .green: "32"
            case .yellow: "33"
            case .blue: "34"
            case .magenta: "35"
            case .cyan: "36"
            case .service(let index): Self.palette[index % Self.palette.count]
            }
        }

        /// Foreground colours of the 256-colour palette that read well on dark and light backgrounds.
        private static let palette = ["38;5;33", "38;5;208", "38;5;35", "38;5;170", "38;5;178", "38;5;37", "38;5;99", "38;5;166"]
    }

    /// `text` in `style` when colour is on; `text` unchanged otherwise.
    func paint(_ text: String, _ style: Style) -> String {
        colors ? "\u{1B}[\(style.code)m\(text)\u{1B}[0m" : text
    }
}

/// Writes `text` to standard output as it is (add the line feed yourself).
func write(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
