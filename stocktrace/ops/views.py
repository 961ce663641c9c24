from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from stocktrace.ops.health import readiness


@never_cache
def healthz(request):
    """Liveness: the process answers. Touches nothing else, so a slow database never restarts it."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request):
    ready, components = readiness()
    return JsonResponse({"status": "ok" if ready else "fail", "components": components},
                        status=200 if ready else 503)
