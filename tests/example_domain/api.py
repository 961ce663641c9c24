from ninja import Router

from stocktrace.api.permissions import requires
from tests.example_domain.permissions import EXAMPLE_VIEW
from tests.example_domain.services import example_ping

router = Router(tags=["example"])
ROUTES = [("/example", router)]


@router.post("/ping")
@requires(EXAMPLE_VIEW)
def example_ping_endpoint(request):
    return example_ping(actor=request.auth)
