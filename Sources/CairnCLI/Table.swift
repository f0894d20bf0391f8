/// An aligned text table: a header, rows of cells, each column left- or right-aligned, and at most one column that
/// gives up width (truncated with `…`) so that lines fit the terminal.
///
/// Widths are counted in terminal columns (`Table.displayWidth(_:)`), so accented letters, `µ` and wide East Asian
/// characters line up. Cells are text without escape codes; colour is added by `render`'s `paint`, after padding.
/// Lines carry no trailing spaces.
///
/// ```swift
/// var table = Table(columns: [.init("SERVICE"), .init("SPANS", alignment: .right)])
/// table.rows.append(["checkout", "12"])
/// let lines = table.render(width: 80)
/// ```
struct Table: Sendable {
    /// How a column lines its cells up.
    enum Alignment: Sendable {
        case left, right
    }

    /// A column: its header, alignment, and whether it is the one truncated to fit the width.
    struct Column: Sendable {
        /// The header, written as it is (conventionally in capitals).
        var header: String
        /// Left for text, right for numbers.
        var alignment: Alignment
        /// Whether this column shrinks, its cells truncated with `…`, when the table is wider than the width given
        /// to `render`. Only the first such column shrinks.
        var truncatable: Bool
        /// The narrowest a truncatable column becomes; the table is wider than asked rather than narrower than this.
        var minimumWidth: Int

        /// A column; `truncatable` columns shrink to no less than `minimumWidth`.
        init(_ header: String, alignment: Alignment = .left, truncatable: Bool = false, minimumWidth: Int = 12) {
            self.header = header
            self.alignment = alignment
            self.truncatable = truncatable
            self.minimumWidth = minimumWidth
        }
    }

    /// The columns, left to right.
    var columns: [Column]
    /// The rows, each with one cell per column (missing cells are empty, extra cells are ignored).
    var rows: [[String]] = []
    /// What separates two columns.
    var separator = "  "

    /// A table with `columns` and no rows yet.
    init(columns: [Column], rows: [[String]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The table as lines, header first, at most `width` columns wide when the truncatable column can shrink enough
    /// (nil: no limit). `paint` styles each cell after it is padded and truncated: it gets the row's index (nil for
    /// the header), the column's index and the cell's text, and returns what to write.
    func render(
        width: Int? = nil, paint: (_ row: Int?, _ column: Int, _ text: String) -> String = { _, _, text in text }
    ) -> [String] {
        func cell(_ row: [String], _ column: Int) -> String { column < row.count ? Self.printable(row[column]) : "" }
        var widths = columns.indices.map { column in
            rows.reduce(Self.displayWidth(columns[column].header)) { max($0, Self.displayWidth(cell($1, column))) }
        }
        if let width, let shrinking = columns.firstIndex(where: \.truncatable) {
            let total = widths.reduce(0, +) + Self.displayWidth(separator) * max(columns.count - 1, 0)
            if total > width {
                let floor = min(widths[shrinking], max(columns[shrinking].minimumWidth, 1))
                widths[shrinking] = max(floor, widths[shrinking] - (total - width))
            }
        }
        func line(_ cells: [String], row: Int?) -> String {
            var parts: [String] = []
            // The last non-empty left-aligned cell is not padded, so that no line ends in spaces.
            let last = columns.indices.last { !cell(cells, $0).isEmpty } ?? -1
            for column in columns.indices where column <= last {
                let text = Self.truncate(cell(cells, column), to: widths[column])
                let gap = String(repeating: " ", count: widths[column] - Self.displayWidth(text))
                // Paint the text only, so that styles do not stretch over the padding.
                let painted = paint(row, column, text)
                switch columns[column].alignment {
                case .left: parts.append(column == last ? painted : painted + gap)
                case .right: parts.append(gap + painted)
                }
            }
            return parts.joined(separator: separator)
        }
        return [line(columns.map(\.header), row: nil)] + rows.enumerated().map { line($1, row: $0) }
    }

    // MARK: Text measured in terminal columns

    /// How many terminal columns `text` takes: two for wide East Asian characters and emoji, none for combining
    /// marks and zero-width characters, one for the rest.
    static func displayWidth(_ text: some StringProtocol) -> Int {
        text.reduce(0) { $0 + width(of: $1) }
    }

    /// The columns one character takes.
    static func width(of character: Character) -> Int {
        guard let scalar = character.unicodeScalars.first else { return 0 }
        switch scalar.value {
        case 0x0300...0x036F, 0x200B...0x200F, 0xFE00...0xFE0F: return 0
        case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
            0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
            0x1F900...0x1F9FF, 0x20000...0x3FFFD:
            return 2
        default: return 1
        }
    }

    /// `text` cut to at most `width` columns, ending in `…` when cut.
    static func truncate(_ text: String, to width: Int) -> String {
        guard displayWidth(text) > width else { return text }
        guard width > 0 else { return "" }
        var result = ""
        var used = 0
        for character in text {
            let next = Self.width(of: character)
            if used + next > width - 1 { break }
            result.append(character)
            used += next
        }
        return result + "…"
    }

    /// `text` with control characters (which could move the cursor or change colours) shown as `�`, and line
    /// breaks and tabs as spaces, so that data read from spans cannot disturb the terminal or the layout.
    static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" || scalar == "\t" || scalar == "\r" {
                result.append(" ")
            } else {
                result.append(isControl(scalar) ? "\u{FFFD}" : scalar)
            }
        }
        return String(result)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }
}
