import Foundation

/// One rule of the `Redactor`: which attribute values are replaced by `[REDACTED]` before spans are stored.
///
/// - A **key** rule names words, such as `password` or `api key`. It matches an attribute whose key *ends* with
///   those words: `db.password`, `user_password`, `apiKey`, `x-api-key` and `http.request.header.authorization`
///   end with a rule's words; `gen_ai.usage.input_tokens`, `gen_ai.token.type` and `tokenizer.name` do not end with
///   `token`. Keys and rules are split into words the same way (`KeyWords`): at every character other than an ASCII
///   letter or digit (`.`, `_`, `-`, space...) and at camelCase humps (`apiKey`, `APIKey`); words compare with ASCII
///   letters case-insensitive. The whole value, of any type, becomes the string `[REDACTED]`.
/// - A **pattern** rule is a regular expression
///   ([ICU syntax](https://unicode-org.github.io/icu/userguide/strings/regexp.html), as `NSRegularExpression` takes
///   it); each match within a string value is replaced.
/// - `paymentCardNumbers` finds card numbers within string values (see `PaymentCardNumbers`).
///
/// Value rules look into string values only, inside arrays and key-value lists too; key rules apply to the keys of
/// key-value lists as well.
public struct RedactionRule: Sendable, Hashable, CustomStringConvertible {
    enum Matcher: Sendable, Hashable {
        /// Lowercase words that a key must end with.
        case key(words: [String])
        case pattern(Pattern)
        case paymentCardNumbers
    }

    /// A compiled regular expression, equal to another by its source.
    struct Pattern: Sendable, Hashable {
        let source: String
        let expression: NSRegularExpression

        static func == (lhs: Pattern, rhs: Pattern) -> Bool { lhs.source == rhs.source }
        func hash(into hasher: inout Hasher) { hasher.combine(source) }
    }

    /// Why a rule given as text cannot be used; its description is one sentence for the user.
    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        /// What is wrong with the rule and what to do, in one sentence.
        public let description: String
    }

    let matcher: Matcher

    /// A rule matching attribute keys that end with the words of `key` (`"password"`, `"api key"`, `"x-api-key"`
    /// and `"apiKey"` are all fine); throws when `key` has no letter or digit.
    public static func key(_ key: String) throws(ParseError) -> RedactionRule {
        let words = KeyWords.split(key)
        guard !words.isEmpty else {
            throw ParseError(
                description: "the redaction key \"\(key)\" has no letter or digit to match; give a word such as password")
        }
        return RedactionRule(matcher: .key(words: words))
    }

    /// A rule replacing each match of the regular expression `pattern` within string values; throws when the
    /// expression is not valid or matches the empty string.
    public static func pattern(_ pattern: String) throws(ParseError) -> RedactionRule {
        let expression: NSRegularExpression
        do {
            expression = try NSRegularExpression(pattern: pattern)
        } catch {
            throw ParseError(
                description: "the redaction pattern \"\(pattern)\" is not a valid regular expression; check its syntax (ICU, as NSRegularExpression reads it)")
        }
        if expression.firstMatch(in: "", range: NSRange(location: 0, length: 0)) != nil {
            throw ParseError(
                description: "the redaction pattern \"\(pattern)\" matches the empty string; make it match at least one character")
        }
        return RedactionRule(matcher: .pattern(Pattern(source: pattern, expression: expression)))
    }

    /// Payment card numbers within string values: 13 to 19 digits, optionally grouped by single spaces or dashes,
    /// starting with 2 to 6 (the major networks' issuer prefixes) and passing the Luhn check.
    public static let paymentCardNumbers = RedactionRule(matcher: .paymentCardNumbers)

    /// `key password`, `pattern <regex>` or `payment card numbers`.
    public var description: String {
        switch matcher {
        case .key(let words): "key \(words.joined(separator: " "))"
        case .pattern(let pattern): "pattern \(pattern.source)"
        case .paymentCardNumbers: "payment card numbers"
        }
    }
}

/// Splits attribute keys into words, for key rules. Works on UTF-8 bytes: a word is a run of ASCII letters and
/// digits and of non-ASCII characters; a word also ends before an uppercase ASCII letter that follows a lowercase
/// letter or a digit (`apiKey`), or that precedes a lowercase letter after another uppercase one (`APIKey`).
enum KeyWords {
    /// The words of `text`, lowercased (ASCII letters only).
    static func split(_ text: String) -> [String] {
        var utf8 = Array(text.utf8)
        let ranges = utf8.withUnsafeBufferPointer { KeyWords.ranges(of: $0) }
        for index in utf8.indices { utf8[index] = fold(utf8[index]) }
        return ranges.map { String(decoding: utf8[$0], as: UTF8.self) }
    }

    /// Where the words of `bytes` lie.
    static func ranges(of bytes: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var start: Int?
        for index in bytes.indices {
            let byte = bytes[index]
            guard isWordByte(byte) else {
                if let begun = start { ranges.append(begun..<index) }
                start = nil
                continue
            }
            if let begun = start, index > begun, isUpper(byte) {
                let previous = bytes[index - 1]
                let next = index + 1 < bytes.count ? bytes[index + 1] : 0
                if isLower(previous) || isDigit(previous) || (isUpper(previous) && isLower(next)) {
                    ranges.append(begun..<index)
                    start = index
                }
            }
            if start == nil { start = index }
        }
        if let begun = start { ranges.append(begun..<bytes.count) }
        return ranges
    }

    /// ASCII uppercase letters to lowercase; every other byte as it is.
    @inline(__always)
    static func fold(_ byte: UInt8) -> UInt8 {
        isUpper(byte) ? byte | 0x20 : byte
    }

    @inline(__always) static func isUpper(_ byte: UInt8) -> Bool { byte &- 0x41 < 26 }
    @inline(__always) static func isLower(_ byte: UInt8) -> Bool { byte &- 0x61 < 26 }
    @inline(__always) static func isDigit(_ byte: UInt8) -> Bool { byte &- 0x30 < 10 }
    @inline(__always) static func isWordByte(_ byte: UInt8) -> Bool {
        byte >= 0x80 || isUpper(byte) || isLower(byte) || isDigit(byte)
    }
}
