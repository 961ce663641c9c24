"""Domain errors: one class per failure a user can cause, mapped once to HTTP in the API and UI."""


class DomainError(Exception):
    status = 400
    code = "invalid"
    title = "The request cannot be carried out"

    def __init__(self, detail: str = "", *, field: str | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.field = field


class Malformed(DomainError):
    status = 400
    code = "malformed"
    title = "Malformed request"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported media type"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class PermissionDenied(DomainError):
    status = 403
    code = "forbidden"
    title = "You do not have permission to do this"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict with the current state"


class InvalidInput(DomainError):
    status = 422
    code = "invalid_input"
    title = "Invalid input"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str = "", *, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


class Unauthenticated(DomainError):
    status = 401
    code = "unauthenticated"
    title = "Authentication required"
