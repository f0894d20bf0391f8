/// Waits, polling, until `condition` holds; fails the test after `timeout` of real time. The timeout is long because
/// in the full suite on 2 cores, tests that wait for processes can hold the concurrency pool's threads for many
/// seconds; it only has to tell a stuck loop from a slow machine.
func eventually(
    _ what: String, timeout: Duration = .seconds(120), _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while !condition() {
        guard clock.now < deadline else { throw TestFailure("timed out waiting until \(what)") }
        try await Task.sleep(for: .milliseconds(1))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
