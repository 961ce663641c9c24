import logging.config

import structlog
from structlog.typing import Processor


def configure(settings: dict) -> None:
    """Structured logs: JSON lines for operators, readable lines in a terminal (LOG_FORMAT=console)."""
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if settings.get("format") == "console"
        else structlog.processors.JSONRenderer()
    )
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "structured": {
                    "()": structlog.stdlib.ProcessorFormatter,
                    "processors": [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
                    "foreign_pre_chain": shared,
                }
            },
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
            "root": {"handlers": ["console"], "level": settings.get("level", "INFO")},
            "loggers": {"axes": {"level": "WARNING"}, "django.db.backends": {"level": "INFO"}},
        }
    )
    structlog.configure(
        # Dropped first when below the level: a filtered-out line must cost next to nothing (one per request).
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
