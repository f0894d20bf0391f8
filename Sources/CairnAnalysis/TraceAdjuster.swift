/// One correction of an assembled trace, such as removing duplicate spans or undoing clock skew.
///
/// Adjusters run in order (see `TraceAssembler.standardAdjusters`); each records what it changed in the warnings of
/// the spans it touched, so that nobody mistakes an adjusted time for a measured one.
public protocol TraceAdjuster: Sendable {
    /// Corrects `tree` in place.
    func adjust(_ tree: inout TraceTree)
}
