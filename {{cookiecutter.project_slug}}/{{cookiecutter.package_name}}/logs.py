"""Log lines as JSON (LOG_FORMAT=json: one object a line, for log collectors) or as text
(LOG_FORMAT=text, the default: for a terminal). Every line written while a request is handled
carries its request id; audit events (audit.py) add their fields. uvicorn's own loggers, the
access log included, go through the same handler, so one format holds for the whole process.
"""

import logging
import sys
import time

import msgspec

from .request_context import request_id

# The standard record attributes: anything else passed in `extra=` is a field of the line.
# uvicorn's `color_message` repeats the message with terminal colours.
STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def fields_of(record: logging.LogRecord) -> dict:
    fields = {key: value for key, value in record.__dict__.items() if key not in STANDARD}
    rid = fields.get("request_id") or request_id()
    if rid:
        fields["request_id"] = rid
    return fields


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The line's own keys win over fields of the same name (an audit event's Unix `time`).
        entry = {
            **fields_of(record),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return msgspec.json.encode(entry, enc_hook=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = fields_of(record)
        return line + "".join(f" {key}={value}" for key, value in fields.items() if value not in (None, ""))


def configure(log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    # uvicorn configures its loggers before it imports the app: route them through the handler
    # above. Its access log stays off if it was turned off (--no-access-log leaves no handler).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if logger.handlers or name != "uvicorn.access":
            logger.handlers = []
            logger.propagate = True
