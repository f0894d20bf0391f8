"""An independent computation of Cairn's analyses, from the spans the OpenTelemetry Python SDK recorded.

Written separately from the Swift analyzer and as plainly as possible (recursion, lists, no shared code), so that
agreement between the two means something. Times are integer nanoseconds.
"""
import math


class S:
    """What the analyses need of one span."""

    def __init__(self, span, service):
        self.trace = format(span.context.trace_id, "032x")
        self.id = format(span.context.span_id, "016x")
        self.parent = format(span.parent.span_id, "016x") if span.parent else None
        self.service = service
        self.name = span.name
        self.kind = span.kind.name.lower()  # internal, server, client, producer, consumer
        self.start = span.start_time
        self.end = span.end_time
        self.error = span.status.status_code.name == "ERROR"
        self.attributes = dict(span.attributes or {})
        self.links = [format(link.context.span_id, "016x") for link in span.links]


def spans_of(spans_by_service):
    return [S(span, service) for service, spans in spans_by_service.items() for span in spans]


def by_trace(spans):
    traces = {}
    for s in spans:
        traces.setdefault(s.trace, []).append(s)
    return traces


def self_times(trace):
    """{span id: duration less the union of its children's intervals clipped to it}."""
    result = {}
    for s in trace:
        intervals = sorted((max(c.start, s.start), min(c.end, s.end)) for c in trace if c.parent == s.id)
        covered, reached = 0, s.start
        for start, end in intervals:
            start = max(start, reached)
            if end > start:
                covered += end - start
                reached = end
        result[s.id] = (s.end - s.start) - covered
    return result


def critical_path(trace):
    """[(span id, start, end)] in time order, by the algorithm of Jaeger's UI, recursively."""
    by_id = {s.id: s for s in trace}
    path = []

    def blocking_children(s, lo, hi):
        out = []
        for c in trace:
            if c.parent == s.id and c.kind not in ("producer", "consumer"):
                start, end = max(c.start, lo), min(c.end, hi)
                if start <= end:
                    out.append((c, start, end))
        return out

    def walk(s, lo, hi):
        children = blocking_children(s, lo, hi)
        cursor = hi
        used = set()
        while True:
            candidates = [(end, c.id, c, start) for c, start, end in children if end <= cursor and c.id not in used]
            if not candidates:
                break
            end, _, child, start = max(candidates, key=lambda x: (x[0], x[1]))
            used.add(child.id)
            if end < cursor:
                path.append((s.id, end, cursor))
            walk(child, start, end)
            cursor = start
        if lo < cursor:
            path.append((s.id, lo, cursor))

    roots = sorted((s for s in trace if s.parent is None or s.parent not in by_id), key=lambda s: (s.start, s.id))
    segments = []
    for root in roots:
        path.clear()
        walk(root, root.start, max(root.start, root.end))
        segments.extend(sorted(path, key=lambda seg: seg[1]))
    return segments


def nearest_rank(values, p):
    values = sorted(values)
    return values[min(max(math.ceil(p * len(values) / 100), 1), len(values)) - 1]


def dependency_edges(spans):
    """{(parent, child): [latencies, errors]} for calls between services and to database peers, as
    docs/dependencies.md defines them (the workload has no CONSUMER spans and no other peers)."""
    by_key = {(s.trace, s.id): s for s in spans}
    edges = {}

    def call(parent, child, latency, error):
        entry = edges.setdefault((parent, child), [[], 0])
        entry[0].append(latency)
        entry[1] += int(error)

    for s in spans:
        parent = by_key.get((s.trace, s.parent)) if s.parent else None
        if parent is not None and parent.service != s.service:
            latency = (parent.end - parent.start) if parent.kind in ("client", "producer") else (s.end - s.start)
            call(parent.service, s.service, latency, parent.error or s.error)
    for s in spans:
        if s.kind != "client":
            continue
        if any(c.trace == s.trace and c.parent == s.id and c.service != s.service for c in spans):
            continue
        peer = s.attributes.get("db.system.name")
        if peer:
            call(s.service, peer, s.end - s.start, s.error)
    return edges


def service_rows(spans, traces):
    """{service: {calls, errors, p50..., self p50/p95, critical path ns}} over whole traces."""
    rows = {}
    for trace in traces.values():
        selfs = self_times(trace)
        on_path = {}
        for span_id, start, end in critical_path(trace):
            on_path[span_id] = on_path.get(span_id, 0) + end - start
        for s in trace:
            row = rows.setdefault(s.service, {"durations": [], "selfs": [], "errors": 0, "path": 0})
            row["durations"].append(s.end - s.start)
            row["selfs"].append(selfs[s.id])
            row["errors"] += int(s.error)
            row["path"] += on_path.get(s.id, 0)
    return rows


def check(base, spans_by_service):
    """Compares the collector's analyses with the computations above; returns how many numbers were compared."""
    import json
    import urllib.request

    def get(path):
        with urllib.request.urlopen(base + path, timeout=60) as response:
            body = json.loads(response.read())
        assert body["errors"] is None, f"{path}: {body['errors']}"
        return body["data"]

    spans = spans_of(spans_by_service)
    traces = by_trace(spans)
    start_us = min(s.start for s in spans) // 1000
    end_us = max(s.start for s in spans) // 1000 + 1
    window = f"start={start_us}&end={end_us}"
    compared = 0

    def same(what, want, got):
        nonlocal compared
        assert want == got, f"{what}: the independent computation gives {want}, Cairn {got}"
        compared += 1

    # One trace at a time: self time and critical-path time per service, and the critical path's segments.
    for trace_id, trace in traces.items():
        breakdown = get(f"/api/traces/{trace_id}/breakdown")
        selfs = self_times(trace)
        path = critical_path(trace)
        for row in breakdown["services"]:
            members = [s for s in trace if s.service == row["service"]]
            same(f"trace {trace_id} {row['service']} self time", sum(selfs[s.id] for s in members), row["selfNs"])
            same(f"trace {trace_id} {row['service']} span count", len(members), row["count"])
            on_path = sum(end - start for span_id, start, end in path if any(s.id == span_id for s in members))
            same(f"trace {trace_id} {row['service']} critical path", on_path, row["criticalPathNs"])
        segments = [(seg["spanID"], int(seg["startTimeUnixNano"]), int(seg["startTimeUnixNano"]) + seg["durationNs"])
                    for seg in breakdown["criticalPath"]["segments"]]
        same(f"trace {trace_id} critical path segments", path, segments)

    # Every trace of the window, per service.
    aggregate = get(f"/api/breakdown?{window}")
    same("trace count", len(traces), aggregate["traceCount"])
    want_rows = service_rows(spans, traces)
    same("services", sorted(want_rows), sorted(row["service"] for row in aggregate["services"]))
    for row in aggregate["services"]:
        want = want_rows[row["service"]]
        same(f"{row['service']} calls", len(want["durations"]), row["calls"])
        same(f"{row['service']} errors", want["errors"], row["errors"])
        for p in (50, 90, 95, 99):
            same(f"{row['service']} p{p}", nearest_rank(want["durations"], p), row[f"p{p}Ns"])
        same(f"{row['service']} max", max(want["durations"]), row["maxNs"])
        same(f"{row['service']} self p50", nearest_rank(want["selfs"], 50), row["selfP50Ns"])
        same(f"{row['service']} self p95", nearest_rank(want["selfs"], 95), row["selfP95Ns"])
        same(f"{row['service']} critical path", want["path"], row["criticalPathNs"])

    # The dependency map of the window.
    graph = get(f"/api/dependencies/graph?format=json&{window}")
    got_edges = {}
    for edge in graph["edges"]:
        key = (edge["parent"], edge["child"])
        assert key not in got_edges, f"two edges {key}: the workload uses one protocol per pair"
        got_edges[key] = edge
    want_edges = dependency_edges(spans)
    same("edges", sorted(want_edges), sorted(got_edges))
    for key, (latencies, errors) in want_edges.items():
        edge = got_edges[key]
        same(f"edge {key} calls", len(latencies), edge["calls"])
        same(f"edge {key} errors", errors, edge["errors"])
        for p in (50, 95, 99):
            same(f"edge {key} p{p}", nearest_rank(latencies, p), edge[f"p{p}Ns"])
    database = [key for key in want_edges if key[1] == "sqlite"]
    same("database edge kind", ["database"] * len(database), [got_edges[key]["kind"] for key in database])
    return compared
