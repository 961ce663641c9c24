from stocktrace.core.errors import DomainError


class TooLarge(DomainError):
    """An import file over STOCKTRACE_IMPORT_MAX_BYTES."""

    status = 413
    code = "too_large"
    title = "The file is too large"
