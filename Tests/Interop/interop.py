#!/usr/bin/env python3
"""Interoperability test: the real OpenTelemetry Python SDK exports to a running `cairn serve`.

Four services record a workload of nested traces with every attribute type, events, links and statuses. Each
service's spans are exported with the official OTLP/HTTP exporters: protobuf and JSON, plain and gzip. Then the
collector is stopped with SIGTERM (it must exit 0), every span is read back from its SQLite store with
`cairn export --all`, and compared field by field with what the SDK recorded, as the SDK's own protobuf encoder
represents it. While the collector runs, its breakdowns, critical paths and dependency map are compared with an
independent computation from the SDK's own spans (analysis.py).

Usage: interop.py PATH_TO_CAIRN
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time

import analysis

from opentelemetry import trace
from opentelemetry.exporter.otlp.common.http import Compression as JSONCompression
from opentelemetry.exporter.otlp.json.http.trace_exporter import OTLPSpanExporter as JSONExporter
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression as ProtoCompression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as ProtoExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

SERVICES = ["frontend", "checkout", "payments", "inventory"]
MODES = [("protobuf", "none"), ("protobuf", "gzip"), ("json", "none"), ("json", "gzip")]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_collector(cairn, db, port, log):
    """Starts `cairn serve`; its JSON log lines go to the file `log`, so that a full pipe never blocks it."""
    process = subprocess.Popen(
        [cairn, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise SystemExit(f"cairn serve exited early: {open(log).read()}")
            time.sleep(0.1)
    raise SystemExit("cairn serve did not start listening within 60 s")


def workload(mode, rng):
    """Records traces across the four services; returns {service: [ReadableSpan]}."""
    recorders, tracers = {}, {}
    for service in SERVICES:
        recorder = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({
            "service.name": service, "service.version": "1.2.3", "deployment.environment.name": "interop",
            "interop.mode": "/".join(mode), "host.name": f"{service}-host",
        }))
        provider.add_span_processor(SimpleSpanProcessor(recorder))
        recorders[service] = (recorder, provider)
        tracers[service] = provider.get_tracer("interop.workload", "0.1.0", schema_url="https://opentelemetry.io/schemas/1.26.0")

    previous = None
    for n in range(25):
        with tracers["frontend"].start_as_current_span(
                "GET /checkout", kind=SpanKind.SERVER,
                links=[Link(previous, {"link.reason": "retry of", "link.n": n})] if previous else [],
                attributes={"http.request.method": "GET", "url.path": "/checkout", "http.response.status_code": 200,
                            "user.premium": n % 2 == 0, "cart.value": 12.5 * n, "tags": ["a", "b", f"n{n}"],
                            "ints": [1, -2, 2**62], "floats": [0.5, -1.25], "bools": [True, False],
                            "unicode": "crème brûlée ✓ 日本", "big": 2**63 - 1, "negative": -42}) as root:
            previous = root.get_span_context()
            root.add_event("cart loaded", {"items": n, "note": "ok"})
            with tracers["frontend"].start_as_current_span("POST checkout", kind=SpanKind.CLIENT,
                                                           attributes={"server.address": "checkout", "server.port": 8081}):
                with tracers["checkout"].start_as_current_span("POST /orders", kind=SpanKind.SERVER) as order:
                    order.set_attribute("order.id", f"o-{n}")
                    with tracers["payments"].start_as_current_span("charge", kind=SpanKind.SERVER) as charge:
                        with tracers["payments"].start_as_current_span("SELECT payments", kind=SpanKind.CLIENT,
                                                                       attributes={"db.system.name": "sqlite"}):
                            time.sleep(rng.uniform(0, 0.001))
                        if n % 5 == 0:
                            charge.record_exception(ValueError(f"card declined {n}"))
                            charge.set_status(Status(StatusCode.ERROR, "card declined"))
                        else:
                            charge.set_status(Status(StatusCode.OK))
                    with tracers["inventory"].start_as_current_span("reserve", kind=SpanKind.SERVER):
                        with tracers["inventory"].start_as_current_span("publish", kind=SpanKind.PRODUCER):
                            pass
    for recorder, provider in recorders.values():
        provider.force_flush()
    return {service: list(recorders[service][0].get_finished_spans()) for service in SERVICES}


def export(mode, port, spans_by_service):
    encoding, compression = mode
    endpoint = f"http://127.0.0.1:{port}/v1/traces"
    for service, spans in spans_by_service.items():
        if encoding == "protobuf":
            exporter = ProtoExporter(endpoint=endpoint, compression=ProtoCompression(
                "gzip" if compression == "gzip" else "none"))
        else:
            exporter = JSONExporter(endpoint=endpoint, compression=JSONCompression(
                "gzip" if compression == "gzip" else "none"))
        for start in range(0, len(spans), 40):
            result = exporter.export(spans[start:start + 40])
            assert result == SpanExportResult.SUCCESS, f"{mode} export of {service} failed: {result}"
        exporter.shutdown()


# Canonical forms, so that the SDK's protobuf and Cairn's OTLP/JSON compare field by field.

def pb_value(value):
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return ["array", [pb_value(v) for v in value.array_value.values]]
    if kind == "kvlist_value":
        return ["kvlist", pb_attributes(value.kvlist_value.values)]
    if kind == "bytes_value":
        return ["bytes", value.bytes_value.hex()]
    if kind == "int_value":
        return ["int", str(value.int_value)]
    return [kind.replace("_value", ""), getattr(value, kind)]


def pb_attributes(attributes):
    return [[a.key, pb_value(a.value)] for a in attributes]


def pb_spans(request):
    spans = {}
    for rs in request.resource_spans:
        resource = {"attributes": sorted(pb_attributes(rs.resource.attributes)), "schema": rs.schema_url,
                    "dropped": rs.resource.dropped_attributes_count}
        for ss in rs.scope_spans:
            scope = {"name": ss.scope.name, "version": ss.scope.version, "schema": ss.schema_url,
                     "attributes": pb_attributes(ss.scope.attributes)}
            for s in ss.spans:
                spans[(s.trace_id.hex(), s.span_id.hex())] = {
                    "parent": s.parent_span_id.hex(), "name": s.name, "kind": s.kind, "flags": s.flags,
                    "trace_state": s.trace_state, "start": str(s.start_time_unix_nano),
                    "end": str(s.end_time_unix_nano), "attributes": pb_attributes(s.attributes),
                    "dropped": [s.dropped_attributes_count, s.dropped_events_count, s.dropped_links_count],
                    "events": [[str(e.time_unix_nano), e.name, pb_attributes(e.attributes), e.dropped_attributes_count]
                               for e in s.events],
                    "links": [[l.trace_id.hex(), l.span_id.hex(), l.trace_state, pb_attributes(l.attributes),
                               l.dropped_attributes_count, l.flags] for l in s.links],
                    "status": [s.status.code, s.status.message], "resource": resource, "scope": scope}
    return spans


def json_value(value):
    if not value:
        return None
    (kind, v), = value.items()
    if kind == "arrayValue":
        return ["array", [json_value(x) for x in v.get("values", [])]]
    if kind == "kvlistValue":
        return ["kvlist", json_attributes(v.get("values", []))]
    if kind == "bytesValue":
        import base64
        return ["bytes", base64.b64decode(v).hex()]
    if kind == "intValue":
        return ["int", str(int(v))]
    return [{"stringValue": "string", "boolValue": "bool", "doubleValue": "double"}[kind], v]


def json_attributes(attributes):
    return [[a["key"], json_value(a.get("value", {}))] for a in attributes]


def json_spans(request):
    spans = {}
    for rs in request.get("resourceSpans", []):
        r = rs.get("resource", {})
        resource = {"attributes": sorted(json_attributes(r.get("attributes", []))), "schema": rs.get("schemaUrl", ""),
                    "dropped": r.get("droppedAttributesCount", 0)}
        for ss in rs.get("scopeSpans", []):
            sc = ss.get("scope", {})
            scope = {"name": sc.get("name", ""), "version": sc.get("version", ""), "schema": ss.get("schemaUrl", ""),
                     "attributes": json_attributes(sc.get("attributes", []))}
            for s in ss.get("spans", []):
                st = s.get("status", {})
                spans[(s["traceId"].lower(), s["spanId"].lower())] = {
                    "parent": s.get("parentSpanId", "").lower(), "name": s.get("name", ""), "kind": s.get("kind", 0),
                    "flags": s.get("flags", 0), "trace_state": s.get("traceState", ""),
                    "start": str(int(s.get("startTimeUnixNano", 0))), "end": str(int(s.get("endTimeUnixNano", 0))),
                    "attributes": json_attributes(s.get("attributes", [])),
                    "dropped": [s.get("droppedAttributesCount", 0), s.get("droppedEventsCount", 0),
                                s.get("droppedLinksCount", 0)],
                    "events": [[str(int(e.get("timeUnixNano", 0))), e.get("name", ""),
                                json_attributes(e.get("attributes", [])), e.get("droppedAttributesCount", 0)]
                               for e in s.get("events", [])],
                    "links": [[l["traceId"].lower(), l["spanId"].lower(), l.get("traceState", ""),
                               json_attributes(l.get("attributes", [])), l.get("droppedAttributesCount", 0),
                               l.get("flags", 0)] for l in s.get("links", [])],
                    "status": [st.get("code", 0), st.get("message", "")], "resource": resource, "scope": scope}
    return spans


def main():
    cairn = os.path.abspath(sys.argv[1])
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        db = os.path.join(folder, "interop.db")
        port = free_port()
        log = os.path.join(folder, "collector.log")
        collector = start_collector(cairn, db, port, log)
        expected = {}
        everything = {service: [] for service in SERVICES}
        try:
            for mode in MODES:
                recorded = workload(mode, rng)
                export(mode, port, recorded)
                for service, spans in recorded.items():
                    expected.update(pb_spans(encode_spans(spans)))
                    everything[service].extend(spans)
            compared = analysis.check(f"http://127.0.0.1:{port}", everything)
        finally:
            collector.send_signal(signal.SIGTERM)
            collector.wait(timeout=60)
            output = open(log).read()
        assert collector.returncode == 0, f"cairn serve exited {collector.returncode} after SIGTERM:\n{output}"

        exported = subprocess.run([cairn, "export", "--all", "--db", db], check=True, capture_output=True, text=True)
        stored = json_spans(json.loads(exported.stdout))

    missing = expected.keys() - stored.keys()
    extra = stored.keys() - expected.keys()
    assert not missing, f"{len(missing)} of {len(expected)} spans were not stored, e.g. {sorted(missing)[:3]}"
    assert not extra, f"{len(extra)} stored spans were never sent, e.g. {sorted(extra)[:3]}"
    differences = 0
    for key, want in expected.items():
        got = stored[key]
        for field in want:
            if want[field] != got[field]:
                differences += 1
                if differences <= 5:
                    print(f"span {key} field {field}:\n  sent   {want[field]}\n  stored {got[field]}", file=sys.stderr)
    assert differences == 0, f"{differences} fields differ between what the SDK sent and what Cairn stored"
    print(f"interop: {len(expected)} spans from {len(SERVICES)} services, {len(MODES)} exporter modes "
          f"(protobuf and JSON, plain and gzip), stored and read back equal field by field; {compared} figures of "
          f"Cairn's breakdowns, critical paths and dependency map equal an independent computation")


if __name__ == "__main__":
    main()
