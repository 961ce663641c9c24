"""Receiving an import file over HTTP without letting an oversized one reach the disk in full."""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from stocktrace.imports.errors import TooLarge
from stocktrace.imports.services import import_max_bytes

# Multipart framing around the file: a body declared larger than the limit plus this is refused unread.
MULTIPART_SLACK = 64 * 1024


def too_large() -> TooLarge:
    return TooLarge(f"Import files are limited to {import_max_bytes():,} bytes (STOCKTRACE_IMPORT_MAX_BYTES); "
                    "split the file", field="file")


class LimitedUpload(FileUploadHandler):
    """Placed first among the upload handlers: stops reading a file past the import limit (the rest of the
    body is read and dropped), and marks the request so the view can answer 413."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            assert self.request is not None  # made for one request, in guard_upload
            self.request.__dict__["_import_too_large"] = True  # read back by upload_too_large
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def guard_upload(request) -> None:
    """Call before anything reads the body: refuses a body declared too large, caps the file streaming in."""
    limit = import_max_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + MULTIPART_SLACK:
        raise too_large()
    if request.content_type == "multipart/form-data" and not hasattr(request, "_files"):
        request.upload_handlers.insert(0, LimitedUpload(request, limit))


def upload_too_large(request) -> bool:
    return getattr(request, "_import_too_large", False)
