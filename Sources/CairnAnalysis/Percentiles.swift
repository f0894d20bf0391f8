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
    /// values. Sorts a copy once, so asking for several percentiles together costs one sort.
    public static func nearestRank(_ percentiles: [Double], of values: [UInt64]) -> [UInt64] {
        let sorted = values.sorted()
        return percentiles.map { nearestRank($0, ofSorted: sorted) ?? 0 }
    }
}
