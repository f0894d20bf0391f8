/// What one connection, or all of them together, observed within the measurement window.
struct LoadStats: Sendable {
    /// Requests answered 200.
    var requestsOK = 0
    /// Spans of requests answered 200, less those the collector reported as rejected (`partial_success`).
    var spansOK = 0
    /// Spans the collector reported as rejected in `partial_success` of a 200 response.
    var spansRejected = 0
    var status429 = 0
    var status503 = 0
    /// Responses with any other status.
    var statusOther = 0
    /// Connection failures and connections closed by the server while the run was going on.
    var errors = 0
    /// Milliseconds from sending a request to receiving its whole response, for requests answered 200.
    var latenciesMillis: [Double] = []

    mutating func merge(_ other: LoadStats) {
        requestsOK += other.requestsOK
        spansOK += other.spansOK
        spansRejected += other.spansRejected
        status429 += other.status429
        status503 += other.status503
        statusOther += other.statusOther
        errors += other.errors
        latenciesMillis += other.latenciesMillis
    }

    /// The `p`-th percentile (0...100) of the latencies, or 0 without any.
    func latencyPercentile(_ p: Double) -> Double {
        guard !latenciesMillis.isEmpty else { return 0 }
        let sorted = latenciesMillis.sorted()
        let rank = Int((p / 100 * Double(sorted.count - 1)).rounded())
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    /// The report line: one JSON object.
    func jsonLine(seconds: Double, connections: Int) -> String {
        let rate = seconds > 0 ? Double(spansOK) / seconds : 0
        func fixed(_ value: Double, _ digits: Int) -> String {
            var scale = 1.0
            for _ in 0..<digits { scale *= 10 }
            let rounded = (value * scale).rounded() / scale
            return "\(rounded)"
        }
        return "{\"requests_ok\":\(requestsOK),\"spans_ok\":\(spansOK),\"status_429\":\(status429),"
            + "\"status_503\":\(status503),\"errors\":\(errors),\"seconds\":\(fixed(seconds, 3)),"
            + "\"spans_per_s\":\(Int(rate.rounded())),\"status_other\":\(statusOther),"
            + "\"spans_rejected\":\(spansRejected),\"connections\":\(connections),"
            + "\"latency_p50_ms\":\(fixed(latencyPercentile(50), 2)),"
            + "\"latency_p99_ms\":\(fixed(latencyPercentile(99), 2))}"
    }
}
