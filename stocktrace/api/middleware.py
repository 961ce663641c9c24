from urllib.parse import unquote_to_bytes

from django.core.exceptions import RequestDataTooBig

from stocktrace.api.problems import problem

GUARDED = ("/api/", "/hooks/")


class RefuseNulMiddleware:
    """Text with a NUL character cannot be stored by PostgreSQL: refuse it up front, with a clear 422, for
    every API and webhook request (path, query string and JSON body), instead of failing deep inside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(GUARDED):
            try:
                if self._has_nul(request):
                    return problem(422, "validation", "Invalid input",
                                   "Text may not contain NUL (\\u0000) characters")
            except RequestDataTooBig:
                return problem(413, "too_large", "Request body too large",
                               "The body exceeds the server's limit (STOCKTRACE_MAX_BODY_BYTES)")
        return self.get_response(request)

    @staticmethod
    def _has_nul(request) -> bool:
        if "\x00" in request.path_info or b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", "")):
            return True
        if request.content_type == "multipart/form-data":
            return False  # uploads are parsed (and checked) by their own code, without loading them whole
        body = request.body
        return b"\x00" in body or b"\\u0000" in body
