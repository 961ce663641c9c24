"""RFC 9457 problem details for every error the API answers."""

from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema

from stocktrace.core.errors import DomainError
from stocktrace.core.problems import CONTENT_TYPE, domain_problem, problem


def _field_path(loc: list) -> str:
    # ninja locates errors as ("body", "<param name>", "field", 0, ...); users care about the field part.
    parts = [str(p) for p in loc]
    if parts[:1] in (["body"], ["query"], ["path"]):
        parts = parts[2:] if parts[0] == "body" and len(parts) > 2 else parts[1:]
    return ".".join(parts) or "body"


def _message(error: dict) -> str:
    # pydantic puts "Value error, " before the message of a rule of ours (schemas.py)
    return error.get("msg", "invalid").removeprefix("Value error, ")


def validation_problem(errors: list[dict]) -> HttpResponse:
    items = [{"path": _field_path(e.get("loc", [])), "message": _message(e)} for e in errors]
    return problem(422, "validation", "Invalid input", "; ".join(f"{i['path']}: {i['message']}" for i in items),
                   errors=items)


def install(api) -> None:
    @api.exception_handler(ValidationError)
    def _validation(request, exc):
        return validation_problem(exc.errors)

    @api.exception_handler(DomainError)
    def _domain(request, exc: DomainError):
        return domain_problem(exc)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        response = problem(401, "unauthenticated", "Authentication required",
                           "Log in, or send a valid, unexpired API token as 'Authorization: Bearer st_…'")
        response["WWW-Authenticate"] = 'Bearer realm="stocktrace"'
        return response

    @api.exception_handler(AuthorizationError)
    def _forbidden(request, exc):
        return problem(403, "forbidden", "You do not have permission to do this", str(exc))

    @api.exception_handler(Http404)
    def _http404(request, exc):
        return problem(404, "not_found", "Not found")

    @api.exception_handler(ObjectDoesNotExist)
    def _missing(request, exc):
        return problem(404, "not_found", "Not found")

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request, exc):
        return problem(413, "too_large", "Request body too large",
                       "The body exceeds the server's limit (STOCKTRACE_MAX_BODY_BYTES)")

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        if exc.status_code == 400:  # ninja's wrapping of any error of the body's parser
            cause = exc.__cause__
            if isinstance(cause, DomainError):  # too deep (400), not JSON at all (415)
                return domain_problem(cause)
            return problem(400, "malformed", "Malformed request", "The body is not valid JSON")
        return problem(exc.status_code, "error", str(exc))


@csrf_exempt  # it changes nothing; without this a logged-in browser's POST or DELETE got Django's HTML 403
def unknown_endpoint(request, *args, **kwargs) -> HttpResponse:
    """Paths under /api/ that match no endpoint answer a problem document too, not an HTML page."""
    return problem(404, "not_found", "Not found", f"No API endpoint at {request.path}")


PROBLEM_SCHEMA = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}},
        },
        "retry_after": {"type": "integer"},
    },
}
ERROR_RESPONSES = {
    "400": "Malformed request (the body is not JSON)",
    "401": "Not authenticated, or the token is invalid, expired or revoked",
    "403": "Your role does not allow this",
    "404": "No such object in your organization",
    "409": "Conflicts with the current state",
    "413": "Body too large",
    "415": "The body is not sent as application/json",
    "422": "Invalid input; `errors[].path` names each field",
    "429": "Too many requests; see Retry-After",
}


class SchemaNameClash(Exception):
    pass


class UniquelyNamedSchema(OpenAPISchema):
    """ninja keeps the last of two different schemas of one name (two `Status` enums, two `AttemptOut`), so a
    generated client would check one against the other's rules; this refuses to build such a document."""

    def add_schema_definitions(self, definitions: dict) -> None:
        for name, definition in definitions.items():
            if self.schemas.get(name, definition) != definition:
                raise SchemaNameClash(f"Two different schemas are named {name!r}; give one a more specific name")
        super().add_schema_definitions(definitions)


def _link_created_objects(paths: dict) -> None:
    """OpenAPI links from each operation that creates an object (`POST /items` answering 201 with its `id`) to
    the operations on it (`/items/{item_id}…`), so clients and stateful fuzzers can follow them."""
    for path, operations in paths.items():
        creation = operations.get("post", {}).get("responses", {})
        for status in (201, 202):  # ninja keys its own responses by int
            if status not in creation:
                continue
            links = {}
            for other, other_operations in paths.items():
                head, _, rest = other.partition(path + "/{")
                if head or not rest:
                    continue
                parameter = rest.split("}", 1)[0]
                if not parameter.endswith("_id"):  # `{code}` is not the created object's id
                    continue
                for operation in other_operations.values():
                    links[operation["operationId"]] = {"operationId": operation["operationId"],
                                                       "parameters": {parameter: "$response.body#/id"}}
            if links:
                creation[status]["links"] = links


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def _drop_unused_schemas(schema: dict) -> None:
    """ninja also lists a query's model (`ItemFilters`) among the components, beside its flattened parameters;
    nothing refers to it, and a generated client would carry it as a dead model."""
    components = schema["components"]["schemas"]
    used: set[str] = set()
    reached = _refs(schema["paths"])
    while reached - used:
        used |= reached
        reached = _refs([components[name] for name in used if name in components])
    for name in set(components) - used:
        del components[name]


class ProblemDocumentingAPI(NinjaAPI):
    """Declares the problem responses every operation can give, so clients (and fuzzers) know them."""

    def get_openapi_operation_id(self, operation) -> str:
        # The view's name (`sites_create`), not ninja's module path (`stocktrace_accounts_api_sites_sites_create`):
        # generated clients name their functions after it. The contract test keeps them unique.
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        schema = UniquelyNamedSchema(self, path_prefix)
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        _link_created_objects(schema["paths"])
        content = {CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                for code, description in ERROR_RESPONSES.items():
                    if code in ("413", "415") and "requestBody" not in operation:
                        continue
                    operation["responses"].setdefault(code, {"description": description, "content": content})
        _drop_unused_schemas(schema)
        return schema
