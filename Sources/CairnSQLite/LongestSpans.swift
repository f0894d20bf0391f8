/// The longest spans of one operation in one block, as `block_operations.longest` and `longest_min_duration` store
/// them (schema v2).
///
/// The writer adds every span of the operation; the list keeps the `capacity` longest, as rowid offsets from the
/// block's first span. Every span left out is at most as long as the shortest kept, so a search whose minimum
/// duration exceeds that (or any search, when the list holds all the operation's spans) finds every span of the
/// operation that can match by reading the listed rows alone, rather than scanning the whole block.
struct LongestSpans {
    /// How many spans a list holds at most.
    static let capacity = 16

    /// The spans kept, in the order they were added until the list is full.
    private var entries: [(duration: Int64, offset: UInt32)] = []
    /// The index in `entries` of the shortest span kept, once the list is full.
    private var shortest = 0

    /// Adds a span; once the list is full, it replaces the shortest span kept if it is longer (on a tie, the span
    /// added first stays).
    mutating func add(duration: Int64, offset: UInt32) {
        if entries.count < Self.capacity {
            entries.append((duration, offset))
            if entries.count == Self.capacity { shortest = indexOfShortest() }
        } else if duration > entries[shortest].duration {
            entries[shortest] = (duration, offset)
            shortest = indexOfShortest()
        }
    }

    private func indexOfShortest() -> Int {
        entries.indices.min { entries[$0].duration < entries[$1].duration } ?? 0
    }

    /// The shortest duration kept (clamped to `Int64.max`, as `duration_ns` is).
    var minDuration: Int64 {
        entries.map(\.duration).min() ?? 0
    }

    /// The offsets, longest span first (equal durations by offset), each a little-endian `UInt32`.
    var encoded: [UInt8] {
        let sorted = entries.sorted { ($0.duration, $1.offset) > ($1.duration, $0.offset) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(sorted.count * 4)
        for entry in sorted {
            withUnsafeBytes(of: entry.offset.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// The offsets of an encoded list, or nil when its length is not a multiple of 4.
    static func offsets(_ encoded: UnsafeRawBufferPointer) -> [UInt32]? {
        guard encoded.count % 4 == 0 else { return nil }
        return stride(from: 0, to: encoded.count, by: 4).map {
            UInt32(littleEndian: encoded.loadUnaligned(fromByteOffset: $0, as: UInt32.self))
        }
    }
}
