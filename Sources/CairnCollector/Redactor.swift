public import CairnModel
import CairnOTLP
import Foundation

/// Replaces sensitive attribute values by `[REDACTED]` in spans before they are stored (issue 6: no secret may reach
/// the store).
///
/// The rules (`RedactionRule`) apply to the attributes of spans, span events, span links, resources and scopes,
/// and to the values nested in arrays and key-value lists. A value whose key matches a key rule becomes the string
/// `[REDACTED]`, whatever its type; otherwise each card number or pattern match within a string value is replaced.
/// Compare the OpenTelemetry Collector's
/// [redaction processor](https://github.com/open-telemetry/opentelemetry-collector-contrib/tree/main/processor/redactionprocessor).
///
/// Cost: most spans need no change, and are left as they are, byte for byte, after a scan of their encoded bytes for
/// the rules' key words and for runs of 13 digits (keys and strings lie in OTLP protobuf as UTF-8, so a span whose
/// bytes hold neither cannot match). Only the spans that might match are decoded, and only those that changed are
/// encoded again. Pattern rules cannot be screened that way: with any, every span is decoded and its strings
/// matched. Measured with the default rules (release build, one core): about 0.4 µs a span that needs no change,
/// 2.6 µs a span that does; with one pattern rule added, about 9 µs a span, most of it in `NSRegularExpression`
/// (which matched 2 to 4 times faster than Swift's `Regex` on realistic values).
public struct Redactor: Sendable {
    /// What a redacted value or match becomes.
    public static let replacement = "[REDACTED]"

    /// Credentials by key (`authorization`, `cookie` and `set-cookie`, `password`, `passwd`, `secret`, `token`,
    /// `api key` and `apikey`, `access key`, `private key`) and payment card numbers in any string value.
    public static let defaultRules: [RedactionRule] =
        ["authorization", "cookie", "password", "passwd", "secret", "token", "api key", "apikey", "access key",
         "private key"].map { RedactionRule(matcher: .key(words: KeyWords.split($0))) } + [.paymentCardNumbers]

    /// The rules, as given.
    public let rules: [RedactionRule]

    /// Per key rule, its words as bytes.
    private let keyRules: [[[UInt8]]]
    private let cards: Bool
    private let patterns: [NSRegularExpression]
    private let screen: Screen

    /// A redactor applying `rules`; with none, it changes nothing.
    public init(rules: [RedactionRule]) {
        self.rules = rules
        var keyRules: [[[UInt8]]] = []
        var patterns: [NSRegularExpression] = []
        var cards = false
        for rule in Set(rules) {
            switch rule.matcher {
            case .key(let words): keyRules.append(words.map { Array($0.utf8) })
            case .pattern(let pattern): patterns.append(pattern.expression)
            case .paymentCardNumbers: cards = true
            }
        }
        self.keyRules = keyRules
        self.patterns = patterns
        self.cards = cards
        screen = Screen(keyRules: keyRules, cards: cards, decodeEverything: !patterns.isEmpty)
    }

    /// The batch with its sensitive values replaced, and how many values and matches were replaced.
    ///
    /// Records keep their order and indexed fields; the payloads of spans that need no change are copied as they
    /// are. A batch that needs no change at all is returned as it was given. A span, resource or scope whose
    /// encoded message cannot be decoded (which the decoders never produce) is not stored unchecked: the span is
    /// left out, the resource or scope emptied.
    public func redact(_ batch: SpanBatch) -> (batch: SpanBatch, redactions: Int) {
        guard !rules.isEmpty else { return (batch, 0) }
        var result = batch
        var redactions = 0

        for index in batch.resources.indices {
            let resource = batch.resources[index]
            guard mayMatch(resource.payload) else { continue }
            guard var decoded = try? OTLPProtobuf.decodeResource(payload: resource.payload, schemaURL: resource.schemaURL)
            else {
                result.resources[index].payload = []
                continue
            }
            let count = redact(&decoded.attributes)
            guard count > 0 else { continue }
            redactions += count
            result.resources[index] = SpanBatch.EncodedResource(
                payload: OTLPProtobuf.encode(decoded), schemaURL: resource.schemaURL, serviceName: decoded.serviceName)
        }
        for index in batch.scopes.indices {
            let scope = batch.scopes[index]
            guard mayMatch(scope.payload) else { continue }
            guard var decoded = try? OTLPProtobuf.decodeScope(payload: scope.payload, schemaURL: scope.schemaURL) else {
                result.scopes[index].payload = []
                continue
            }
            let count = redact(&decoded.attributes)
            guard count > 0 else { continue }
            redactions += count
            result.scopes[index].payload = OTLPProtobuf.encode(decoded)
        }

        // Spans: new payloads for the few that change (nil for one left out), by record index.
        var changed: [(index: Int, payload: [UInt8]?)] = []
        batch.payloads.withUnsafeBufferPointer { payloads in
            for (index, record) in batch.records.enumerated() {
                let bytes = UnsafeBufferPointer(
                    rebasing: payloads[Int(record.payloadOffset)..<Int(record.payloadOffset) + Int(record.payloadLength)])
                guard screen.mayMatch(bytes, cards: cards) else { continue }
                guard var span = try? OTLPProtobuf.decodeSpan(
                    payload: UnsafeRawBufferPointer(bytes), resource: Resource(), scope: InstrumentationScope(),
                    selection: .everything)
                else {
                    changed.append((index, nil))
                    continue
                }
                var count = redact(&span.attributes)
                for event in span.events.indices { count += redact(&span.events[event].attributes) }
                for link in span.links.indices { count += redact(&span.links[link].attributes) }
                guard count > 0 else { continue }
                redactions += count
                changed.append((index, OTLPProtobuf.encode(span)))
            }
        }
        guard !changed.isEmpty else { return (result, redactions) }

        var records: [SpanBatch.Record] = []
        records.reserveCapacity(batch.records.count)
        var payloads: [UInt8] = []
        payloads.reserveCapacity(batch.payloads.count + changed.count * 16)
        var next = changed.makeIterator()
        var change = next.next()
        for (index, var record) in batch.records.enumerated() {
            let offset = payloads.count
            if let current = change, current.index == index {
                change = next.next()
                guard let payload = current.payload else { continue }
                payloads.append(contentsOf: payload)
            } else {
                payloads.append(contentsOf: batch.payload(of: record))
            }
            record.payloadOffset = Int32(offset)
            record.payloadLength = Int32(payloads.count - offset)
            records.append(record)
        }
        result.records = records
        result.payloads = payloads
        return (result, redactions)
    }

    // MARK: - Attributes

    private func mayMatch(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { screen.mayMatch($0, cards: cards) }
    }

    /// Redacts attributes in place; returns the number of replacements.
    func redact(_ attributes: inout [Attribute]) -> Int {
        var count = 0
        for index in attributes.indices {
            if keyMatches(attributes[index].key) {
                guard attributes[index].value != .string(Self.replacement) else { continue }
                attributes[index].value = .string(Self.replacement)
                count += 1
            } else {
                count += redact(value: &attributes[index].value)
            }
        }
        return count
    }

    private func redact(value: inout AttributeValue) -> Int {
        switch value {
        case .string(let text):
            guard let (redacted, count) = redact(text) else { return 0 }
            value = .string(redacted)
            return count
        case .array(var elements):
            var count = 0
            for index in elements.indices { count += redact(value: &elements[index]) }
            if count > 0 { value = .array(elements) }
            return count
        case .keyValueList(var entries):
            let count = redact(&entries)
            if count > 0 { value = .keyValueList(entries) }
            return count
        default:
            return 0
        }
    }

    /// Whether a key rule matches `key`: the key's last words are the rule's words.
    private func keyMatches(_ key: String) -> Bool {
        guard !keyRules.isEmpty else { return false }
        var key = key
        return key.withUTF8 { bytes in
            guard screen.mayMatch(bytes, cards: false) else { return false }
            let words = KeyWords.ranges(of: bytes)
            return keyRules.contains { rule in
                guard rule.count <= words.count else { return false }
                return zip(rule.reversed(), words.reversed()).allSatisfy { word, range in
                    word.count == range.count && zip(word, bytes[range]).allSatisfy { $0 == KeyWords.fold($1) }
                }
            }
        }
    }

    /// A string with its card numbers and pattern matches replaced, and their number; nil when nothing matched.
    private func redact(_ text: String) -> (String, Int)? {
        var text = text
        var count = 0
        if cards {
            let numbers = text.withUTF8 { PaymentCardNumbers.find(in: $0) }
            if !numbers.isEmpty {
                var utf8 = Array(text.utf8)
                for range in numbers.reversed() { utf8.replaceSubrange(range, with: Self.replacement.utf8) }
                text = String(decoding: utf8, as: UTF8.self)
                count += numbers.count
            }
        }
        for pattern in patterns {
            let matches = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text))
            guard matches.contains(where: { $0.range.length > 0 }) else { continue }
            var redacted = ""
            var position = text.startIndex
            // Matches come in order and do not overlap; an empty one replaces nothing.
            for match in matches where match.range.length > 0 {
                guard let range = Range(match.range, in: text) else { continue }
                redacted += text[position..<range.lowerBound]
                redacted += Self.replacement
                position = range.upperBound
                count += 1
            }
            redacted += text[position...]
            text = redacted
        }
        return count > 0 ? (text, count) : nil
    }
}

// MARK: - Screening encoded messages

extension Redactor {
    /// Tells from a message's bytes whether a rule might match inside it: whether every word of some key rule occurs
    /// in the bytes (ASCII letters case-insensitive), or, for card numbers, whether 13 digits occur in a row
    /// (single spaces or dashes between them allowed). False positives only cost a decoding.
    ///
    /// Measured on the spans of `Fixtures.realisticSpans` and of the CLI's shop fixture (release build), it takes
    /// about a third of the time of a byte-by-byte search: words are looked for only where the two bytes that begin
    /// one of them occur, and digit runs only around every 13th byte.
    struct Screen: Sendable {
        /// The distinct words of the key rules, back to back, and where each lies.
        private let needles: [UInt8]
        private let needleRanges: [Range<Int>]
        /// Per key rule, the bits of its words in `needleRanges`.
        private let requirements: [UInt64]
        /// Per folded byte, the bits of the words that start with it.
        private let starts: [UInt64]
        /// A bit per folded pair of bytes that begins a word; a one-letter word sets every pair it begins.
        private let pairs: [UInt64]
        /// The bits of one-letter words, which a message's last byte may hold.
        private let oneByteWords: UInt64
        /// Each byte folded to lowercase (ASCII letters only): a table, measured faster than comparing.
        private let fold: [UInt8]
        /// Whether to say yes to everything: pattern rules, or more words than the bit sets hold.
        private let everything: Bool

        init(keyRules: [[[UInt8]]], cards: Bool, decodeEverything: Bool) {
            var words: [[UInt8]] = []
            var requirements: [UInt64] = []
            for rule in keyRules {
                var bits: UInt64 = 0
                for word in rule {
                    let index = words.firstIndex(of: word) ?? words.count
                    if index == words.count { words.append(word) }
                    if index < 64 { bits |= 1 << UInt64(index) }
                }
                requirements.append(bits)
            }
            var starts = [UInt64](repeating: 0, count: 256)
            var pairs = [UInt64](repeating: 0, count: 65_536 / 64)
            var oneByteWords: UInt64 = 0
            var needles: [UInt8] = []
            var needleRanges: [Range<Int>] = []
            for (index, word) in words.enumerated() where index < 64 {
                starts[Int(word[0])] |= 1 << UInt64(index)
                let seconds = word.count > 1 ? [word[1]] : Array(0...255)
                if word.count == 1 { oneByteWords |= 1 << UInt64(index) }
                for second in seconds {
                    let pair = Int(word[0]) << 8 | Int(second)
                    pairs[pair >> 6] |= 1 << UInt64(pair & 63)
                }
                needleRanges.append(needles.count..<needles.count + word.count)
                needles += word
            }
            self.needles = needles
            self.needleRanges = needleRanges
            self.requirements = requirements
            self.starts = starts
            self.pairs = pairs
            self.oneByteWords = oneByteWords
            fold = (0...255).map { KeyWords.fold(UInt8($0)) }
            everything = decodeEverything || words.count > 64
        }

        func mayMatch(_ bytes: UnsafeBufferPointer<UInt8>, cards: Bool) -> Bool {
            if everything || (cards && Self.hasDigitRun(bytes)) { return true }
            guard !requirements.isEmpty, !bytes.isEmpty else { return false }
            return fold.withUnsafeBufferPointer { fold in
                pairs.withUnsafeBufferPointer { pairs in
                    starts.withUnsafeBufferPointer { starts in
                        needles.withUnsafeBufferPointer { needles in
                            var found: UInt64 = 0
                            var previous = Int(fold[Int(bytes[0])])
                            for index in 1..<bytes.count + 1 {
                                // The pair (previous, current); past the last byte, a pair only a one-letter word begins.
                                let current = index < bytes.count ? Int(fold[Int(bytes[index])]) : 0
                                let pair = previous << 8 | current
                                previous = current
                                guard pairs[pair >> 6] & 1 << UInt64(pair & 63) != 0 else { continue }
                                let start = index - 1
                                var candidates = starts[pair >> 8] & ~found
                                if index == bytes.count { candidates &= oneByteWords }
                                guard candidates != 0 else { continue }
                                let before = found
                                while candidates != 0 {
                                    let bit = candidates.trailingZeroBitCount
                                    candidates &= candidates - 1
                                    let range = needleRanges[bit]
                                    guard range.count <= bytes.count - start else { continue }
                                    var matched = 1
                                    while matched < range.count,
                                        fold[Int(bytes[start + matched])] == needles[range.lowerBound + matched]
                                    {
                                        matched += 1
                                    }
                                    if matched == range.count { found |= 1 << UInt64(bit) }
                                }
                                if found != before, requirements.contains(where: { found & $0 == $0 }) { return true }
                            }
                            return false
                        }
                    }
                }
            }
        }

        /// Whether 13 digits occur in a row, single spaces or dashes between them allowed. Such a run is at least
        /// 13 bytes long, so it holds one of every 13th byte: only around those that are digits is it looked for.
        static func hasDigitRun(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
            var checkpoint = 12
            while checkpoint < bytes.count {
                let byte = bytes[checkpoint]
                if KeyWords.isDigit(byte) || byte == 0x20 || byte == 0x2D {
                    // Of a run through the checkpoint, the 26 bytes on either side within the run hold 13 digits.
                    var digits = 0
                    var afterSeparator = false
                    for index in max(0, checkpoint - 25)..<min(bytes.count, checkpoint + 26) {
                        let byte = bytes[index]
                        if KeyWords.isDigit(byte) {
                            digits += 1
                            afterSeparator = false
                            if digits >= 13 { return true }
                        } else if (byte == 0x20 || byte == 0x2D) && digits > 0 && !afterSeparator {
                            afterSeparator = true
                        } else {
                            digits = 0
                            afterSeparator = false
                        }
                    }
                }
                checkpoint += 13
            }
            return false
        }
    }
}

/// Payment card numbers within text: 13 to 19 digits, optionally grouped by single spaces or dashes, starting with
/// 2 to 6 and passing the [Luhn check](https://en.wikipedia.org/wiki/Luhn_algorithm).
///
/// The first digit excludes the numbers that are most often mistaken for cards: epoch timestamps in milliseconds and
/// nanoseconds (13 and 19 digits, starting with 1 until 2033 and 2286) and identifiers starting with 0. A number
/// is taken from group boundaries only: `4111 1111 1111 1111 1234` holds one card number, its first 16 digits, while
/// 20 digits in a row are not a card number at all.
enum PaymentCardNumbers {
    /// The byte ranges of the card numbers in `text`, in order.
    static func find(in text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var index = 0
        while index < text.count {
            guard KeyWords.isDigit(text[index]) else {
                index += 1
                continue
            }
            // A run of digit groups separated by single spaces or dashes, as (start, end) byte offsets per group.
            var groups: [Range<Int>] = []
            var start = index
            while true {
                while index < text.count, KeyWords.isDigit(text[index]) { index += 1 }
                groups.append(start..<index)
                guard index + 1 < text.count, text[index] == 0x20 || text[index] == 0x2D, KeyWords.isDigit(text[index + 1])
                else { break }
                index += 1
                start = index
            }
            found += numbers(in: groups, of: text)
        }
        return found
    }

    /// The card numbers made of whole consecutive groups: from each group on, the longest that is one.
    private static func numbers(in groups: [Range<Int>], of text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        guard groups.reduce(0, { $0 + $1.count }) >= 13 else { return [] }
        var found: [Range<Int>] = []
        var first = 0
        while first < groups.count {
            var longest: Int?
            var digits = 0
            for last in first..<groups.count {
                digits += groups[last].count
                if digits > 19 { break }
                if digits >= 13, isCardNumber(groups[first...last], of: text) { longest = last }
            }
            if let longest {
                found.append(groups[first].lowerBound..<groups[longest].upperBound)
                first = longest + 1
            } else {
                first += 1
            }
        }
        return found
    }

    private static func isCardNumber(_ groups: ArraySlice<Range<Int>>, of text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let leading = groups.first.map({ text[$0.lowerBound] }), (0x32...0x36).contains(leading) else { return false }
        var sum = 0
        var double = false
        for group in groups.reversed() {
            for position in group.reversed() {
                var digit = Int(text[position] - 0x30)
                if double {
                    digit *= 2
                    if digit > 9 { digit -= 9 }
                }
                sum += digit
                double.toggle()
            }
        }
        return sum % 10 == 0
    }
}
