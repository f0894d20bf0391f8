/// Deletes old spans from a store and gives their space back; the collector's `RetentionService` calls it.
///
/// Contract, for every backend:
/// - A store deletes in its own units of storage, whole ones only: a SQLite block (one group commit), a PostgreSQL
///   partition. A unit goes once *every* span in it ended (and started) before the cutoff, so no span that ends
///   at or after the cutoff is ever deleted, and a span may outlive the cutoff by as long as the newest span stored
///   with it. Deleting a unit removes its spans and every index entry of theirs: readers see the rest of a trace
///   whose older spans went (`trace(_:)` returns its newer spans, searches still find it by them), and never part
///   of a unit.
/// - Units go oldest first, each call in one short transaction, so that writes interleave between calls.
/// - Deleting never blocks writes for longer than one call; reclaiming space may run concurrently with writes.
public protocol SpanRetention: Sendable {
    /// Deletes units whose spans all ended before `cutoff` (nanoseconds since the Unix epoch), oldest first, in one
    /// transaction: as many as fit in `maxSpans` spans, but always at least one when any is that old (so a unit
    /// larger than `maxSpans` still goes). Returns the number of spans deleted: 0 when nothing older is left.
    func deleteSpans(endingBefore cutoff: UInt64, maxSpans: Int) async throws -> Int

    /// Gives the space of deleted spans back to the file system where the store can, in bounded steps that let
    /// writes interleave; does nothing where it cannot (the space is then reused by later writes).
    func reclaimSpace() async throws
}
