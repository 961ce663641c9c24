"""API v1: the routers every app declares in its `api.py` (`ROUTES = [(prefix, router), …]`), mounted in
INSTALLED_APPS order."""

from stocktrace.accounts.authentication import api_auth
from stocktrace.api import problems
from stocktrace.api.parsers import DecimalJSONParser
from stocktrace.core.discovery import app_modules

api = problems.ProblemDocumentingAPI(
    title="stocktrace API",
    version="1",
    description="Scan-driven inventory: counts, stock, traceability. Errors are RFC 9457 problem details. "
    "Authenticate with `Authorization: Bearer st_…` (a personal API token) or a browser session.",
    auth=api_auth,
    parser=DecimalJSONParser(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
)
problems.install(api)

for module in app_modules("api"):
    for prefix, router in module.ROUTES:
        api.add_router(prefix, router)
