from stocktrace.api import problems
from stocktrace.api.auth import api_auth
from stocktrace.api.parsers import DecimalJSONParser
from stocktrace.api.v1 import audit, auth, inventory, jobs, members, organizations, sites, tokens, webhooks
from stocktrace.api.v1 import imports as imports_api

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

api.add_router("/auth", auth.router, tags=["auth"])
api.add_router("", organizations.router, tags=["organizations"])
api.add_router("/members", members.router, tags=["members"])
api.add_router("/sites", sites.router, tags=["sites"])
api.add_router("", inventory.router)
api.add_router("/tokens", tokens.router, tags=["tokens"])
api.add_router("/audit", audit.router, tags=["audit"])
api.add_router("/jobs", jobs.router, tags=["jobs"])
api.add_router("/webhooks", webhooks.router, tags=["webhooks"])
api.add_router("/imports", imports_api.router, tags=["imports"])
api.add_router("/exports", imports_api.exports_router, tags=["imports"])
