/// Exact percentiles by the nearest-rank method: no interpolation, every answer is one of the values.
///
/// The p-th percentile (0 ≤ p ≤ 100) of n values sorted in ascending order is the value at 1-based rank
/// ⌈p × n / 100⌉, with rank 1 for p = 0: the smallest value such that at least p % of the values are less than or
/// equal to it. For 20 values the 95th percentile is the 19th, the 50th is the 10th, and the 99th is the 20th; for
/// a single value every percentile is that value. See
/// [Percentile, the nearest-rank method](https://en.wikipedia.org/wiki/Percentile#The_nearest-rank_method).
///
/// Exact percentiles need every value in memory; where the data does not fit, use a histogram (DESIGN.md).
public enum Percentiles {
    /// The 1-based rank of the p-th percentile among `count` values: ⌈p × count / 100⌉, clamped to `1...count`.
    ///
    /// `percentile` is clamped to `0...100`; `count` must be at least 1. The product is computed exactly for any
    /// integral `percentile` and any `count` below 2⁵³, so `rank(95, of: 20)` is 19, never 20.
    public static func rank(_ percentile: Double, of count: Int) -> Int {
        precondition(count >= 1, "a percentile needs at least one value")
        let p = percentile.isNaN ? 0 : min(max(percentile, 0), 100)
        let exact = p * Double(count) / 100
        var rank = Int(exact)  // truncation, then up: a ceiling without the C library
        if Double(rank) < exact { rank += 1 }
        return min(max(rank, 1), count)
    }

    /// The p-th percentile of values already sorted in ascending order, by nearest rank; nil when there are none.
    public static func nearestRank<Values: RandomAccessCollection>(
        _ percentile: Double, ofSorted values: Values
    ) -> Values.Element? {
        guard !values.isEmpty else { return nil }
        return values[values.index(values.startIndex, offsetBy: rank(percentile, of: values.count) - 1)]
    }

    /// The percentiles of values in any order, by nearest rank, in the order asked; zero for each when there are no
    /// values. Works on a copy; see ``nearestRank(_:selectingIn:)``.
    public static func nearestRank(_ percentiles: [Double], of values: [UInt64]) -> [UInt64] {
        var copy = values
        return nearestRank(percentiles, selectingIn: &copy)
    }

    /// The percentiles of values in any order, found by selection rather than by sorting: `values` is reordered in
    /// place so that each asked rank holds the value a sort would put there, in linear time on average rather than
    /// n log n.
    ///
    /// Introselect: each step partitions the part of the values that holds the rank around the median of three and
    /// goes on in one side only; after 2 log2(n) steps without finishing it sorts that part instead, so that values
    /// arranged to defeat the pivot cost no more than a sort. Ranks are found in ascending order, each in the part
    /// right of the one before.
    public static func nearestRank(_ percentiles: [Double], selectingIn values: inout [UInt64]) -> [UInt64] {
        guard !values.isEmpty else { return percentiles.map { _ in 0 } }
        let count = values.count
        let indices = percentiles.map { rank($0, of: count) - 1 }
        var steps = 4
        var size = count
        while size > 1 { steps += 2; size >>= 1 }
        values.withUnsafeMutableBufferPointer { buffer in
            var low = 0
            for index in indices.sorted() {
                select(index, in: buffer, from: low, steps: steps)
                low = index
            }
        }
        return indices.map { values[$0] }
    }

    /// Puts in `buffer[index]` the value that sorting `buffer[from...]` would put there, with no greater value before
    /// it and no smaller one after it within that range.
    private static func select(_ index: Int, in buffer: UnsafeMutableBufferPointer<UInt64>, from start: Int, steps: Int) {
        var low = start
        var high = buffer.count - 1
        var steps = steps
        while high - low > 16 {
            guard steps > 0 else {
                var part = UnsafeMutableBufferPointer(rebasing: buffer[low...high])
                part.sort()
                return
            }
            steps -= 1
            let middle = low + (high - low) / 2
            if buffer[middle] < buffer[low] { buffer.swapAt(middle, low) }
            if buffer[high] < buffer[low] { buffer.swapAt(high, low) }
            if buffer[high] < buffer[middle] { buffer.swapAt(high, middle) }
            let pivot = buffer[middle]
            var left = low
            var right = high
            while left <= right {
                while buffer[left] < pivot { left += 1 }
                while buffer[right] > pivot { right -= 1 }
                if left <= right {
                    buffer.swapAt(left, right)
                    left += 1
                    right -= 1
                }
            }
            // Now buffer[low...right] ≤ pivot ≤ buffer[left...high], and what lies between equals the pivot.
            if index <= right {
                high = right
            } else if index >= left {
                low = left
            } else {
                return
            }
        }
        // A few values: insertion sort.
        if low < high {
            for position in (low + 1)...high {
                let value = buffer[position]
                var target = position
                while target > low && buffer[target - 1] > value {
                    buffer[target] = buffer[target - 1]
                    target -= 1
                }
                buffer[target] = value
            }
        }
    }
}
