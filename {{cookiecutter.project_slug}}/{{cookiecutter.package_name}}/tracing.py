"""OpenTelemetry traces, when OTEL_EXPORTER_OTLP_ENDPOINT is set (main.py imports this module
only then, so the service pays nothing without it). Needs the optional dependencies:
`pip install '.[otel]'`. The exporter reads the standard OTEL_* variables itself
(OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS, ...): spans go over OTLP/HTTP.

Spans: one per request (the generic ASGI middleware: FasterAPI is not Starlette-based), one per
database statement where the backend runs any (database.trace_statements), and one per mail
sent over SMTP (mail.trace_deliveries); never a mail's address or body."""

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from . import mail
from .backend import database
from .settings import settings


def middleware():
    """The ASGI middleware to add (a callable of the next layer), after setting up the exporter
    for this process."""
    name = os.environ.get("OTEL_SERVICE_NAME", __package__)
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    database.trace_statements()
    tracer = trace.get_tracer(__package__)
    server = {"server.address": settings.smtp_host, "server.port": settings.smtp_port}

    def smtp_span():  # a failed delivery's span records its exception
        return tracer.start_as_current_span("smtp send", kind=trace.SpanKind.CLIENT, attributes=server)

    mail.trace_deliveries(smtp_span)

    def traced(app):
        async def next_layer(scope, receive, send):  # asgiref tells ASGI 3 apps by `async def`
            await app(scope, receive, send)

        return OpenTelemetryMiddleware(next_layer)

    return traced
