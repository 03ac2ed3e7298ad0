"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set (main.py imports this module
only then, so the service pays nothing without it). Needs the optional dependencies:
`pip install '.[otel]'`. The exporter reads the standard OTEL_* variables itself
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, ...): spans go over OTLP/HTTP.

Spans: one per request (the generic ASGI middleware: FasterAPI is not Starlette-based) and one per
database statement where the backend runs any (database.trace_statements)."""

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from .backend import database


def middleware():
    """The ASGI middleware to add (a callable of the next layer), after setting up the exporter
    for this process."""
    name = os.environ.get("OTEL_SERVICE_NAME", __package__)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    database.trace_statements()

    def traced(app):
        async def next_layer(scope, receive, send):  # asgiref tells ASGI 3 apps by `async def`
            await app(scope, receive, send)

        return OpenTelemetryMiddleware(next_layer)

    return traced
