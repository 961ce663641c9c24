"""Requests through config.wsgi.application, as granian calls it: the test client uses its own handler."""

import io


def through_the_server_application(method: str, path: str, body: bytes = b"", headers: dict | None = None,
                                   query: str = "") -> dict:
    """Status, headers, body and the iterable the application returned (`chunks`), closed as a server would."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "testserver",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "testserver",
               "CONTENT_TYPE": "application/json"}
    environ.update({"HTTP_" + name.upper().replace("-", "_"): value for name, value in (headers or {}).items()})
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

    # As Django's test client does: the request signals must not close the test's transaction's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        chunks = application(environ, start_response)
        answer["chunks"] = chunks
        answer["body"] = b"".join(chunks)
        if hasattr(chunks, "close"):  # WSGI: a server calls close() when the iterable has one
            chunks.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer
