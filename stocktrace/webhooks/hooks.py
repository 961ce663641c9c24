"""The public endpoint inbound webhooks are pushed to: /hooks/<organization>/<source>.

Not part of the user API: it authenticates each request by its HMAC signature, not by a token."""

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from stocktrace.core.errors import DomainError
from stocktrace.core.problems import domain_problem, problem
from stocktrace.webhooks.selectors import source_for_push
from stocktrace.webhooks.services import KEPT_HEADERS, inbound_receive


@csrf_exempt
@require_POST
def inbound_webhook(request, organization_slug: str, source_slug: str):
    source = source_for_push(organization_slug, source_slug)
    if source is None:
        return problem(404, "not_found", "Not found", "No active webhook source at this address")
    try:
        body = request.body
    except RequestDataTooBig:
        return problem(413, "too_large", "Request body too large",
                       "The body exceeds the server's limit (STOCKTRACE_MAX_BODY_BYTES)")
    try:
        receipt = inbound_receive(source=source, headers=_kept_headers(request.META), body=body)
    except DomainError as error:
        return domain_problem(error)
    return JsonResponse({"delivery": receipt.delivery_pk, "status": receipt.status, "duplicate": receipt.duplicate},
                        status=200 if receipt.duplicate else 202)


# The headers a delivery keeps, by their WSGI names: cheaper than building request.headers whole.
_KEPT_META = {name: "HTTP_" + name.upper().replace("-", "_") for name in KEPT_HEADERS} | {
    "content-type": "CONTENT_TYPE"}


def _kept_headers(meta: dict) -> dict:
    return {name: meta[key] for name, key in _KEPT_META.items() if key in meta}
