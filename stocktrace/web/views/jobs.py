from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from stocktrace.accounts.roles import Perm
from stocktrace.core.pagination import keyset_page
from stocktrace.jobs import selectors, services
from stocktrace.web.actions import announce
from stocktrace.web.decorators import page_requires


@page_requires(Perm.JOBS_VIEW)
def jobs(request):
    stats = selectors.job_stats(organization=request.actor.organization)
    dead = None
    if request.actor.can(Perm.JOBS_MANAGE):
        dead = keyset_page(selectors.dead_letters_of(actor=request.actor), cursor=None, limit=100)
    return render(request, "web/jobs.html", {"stats": stats, "dead": dead})


@page_requires(Perm.JOBS_MANAGE)
def dead_letter(request, dead_letter_id: int):
    letter = selectors.dead_letter_get(actor=request.actor, dead_letter_id=dead_letter_id)
    return render(request, "web/dead_letter.html",
                  {"letter": letter, "attempts": selectors.dead_letter_attempts(letter)})


@page_requires(Perm.JOBS_MANAGE)
@require_POST
def dead_letter_action(request, dead_letter_id: int, action: str):
    if action not in ("replay", "discard"):
        raise Http404("No such action")
    letter = selectors.dead_letter_get(actor=request.actor, dead_letter_id=dead_letter_id)
    service = services.dead_letter_replay if action == "replay" else services.dead_letter_discard
    announce(request, lambda: service(actor=request.actor, dead_letter=letter),
             lambda done: f"Dead letter {done.pk} {done.status}.")
    return redirect("web:jobs")


@page_requires(Perm.JOBS_MANAGE)
@require_POST
def dead_letters_replay_all(request):
    count = services.dead_letters_replay_matching(actor=request.actor,
                                                  dead_letters=selectors.dead_letters_of(actor=request.actor))
    messages.success(request, f"Replayed {count} dead letter{'s' if count != 1 else ''}.")
    return redirect("web:jobs")
