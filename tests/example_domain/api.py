from django.db import transaction
from ninja import Router

from stocktrace.api.permissions import requires
from stocktrace.events.catalogue import event_publish
from tests.example_domain.permissions import EXAMPLE_VIEW

router = Router(tags=["example"])
ROUTES = [("/example", router)]


@router.post("/ping")
@requires(EXAMPLE_VIEW)
def example_ping(request):
    with transaction.atomic():
        event_publish(organization=request.auth.organization, name="example.pinged", payload={"by": request.auth.role})
    return {"pong": True}
