from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from stocktrace.jobs import selectors, services
from stocktrace.jobs.forms import DeadLetterFilterForm, DeadLetterReplayAllForm
from stocktrace.jobs.models import DeadLetter
from stocktrace.jobs.permissions import JOBS_MANAGE, JOBS_VIEW
from stocktrace.web.actions import announce
from stocktrace.web.decorators import page_requires

DEAD_LETTERS_SHOWN = 100


@page_requires(JOBS_VIEW)
def jobs(request):
    context = {"stats": selectors.job_stats(organization=request.actor.organization), "dead": None}
    if request.actor.can(JOBS_MANAGE):
        context |= _dead_letters(request)
    return render(request, "jobs/jobs.html", context)


def _dead_letters(request) -> dict:
    """The dead letters matching the filter (newest first, at most DEAD_LETTERS_SHOWN) and how many match."""
    form = DeadLetterFilterForm(request.GET or None, task_paths=selectors.dead_letter_task_paths(actor=request.actor))
    filters = form.cleaned_data if form.is_valid() else {}
    status, task = filters.get("status") or DeadLetter.Status.DEAD, filters.get("task") or None
    letters = selectors.dead_letters_of(actor=request.actor, status=status, task_path=task)
    shown = list(letters.select_related("resolved_by").order_by("-pk")[:DEAD_LETTERS_SHOWN])
    return {"dead_filter": form, "dead": shown, "dead_status": status, "dead_task": task,
            "dead_matching": len(shown) if len(shown) < DEAD_LETTERS_SHOWN else letters.count()}


@page_requires(JOBS_MANAGE)
def dead_letter(request, dead_letter_id: int):
    letter = selectors.dead_letter_get(actor=request.actor, dead_letter_id=dead_letter_id)
    return render(request, "jobs/dead_letter.html",
                  {"letter": letter, "attempts": selectors.dead_letter_attempts(letter)})


@page_requires(JOBS_MANAGE)
@require_POST
def dead_letter_action(request, dead_letter_id: int, action: str):
    if action not in ("replay", "discard"):
        raise Http404("No such action")
    letter = selectors.dead_letter_get(actor=request.actor, dead_letter_id=dead_letter_id)
    service = services.dead_letter_replay if action == "replay" else services.dead_letter_discard
    announce(request, lambda: service(actor=request.actor, dead_letter=letter),
             lambda done: f"Dead letter {done.pk} {done.status}.")
    return redirect("web:jobs")


@page_requires(JOBS_MANAGE)
@require_POST
def dead_letters_replay_all(request):
    """Replay the open dead letters of the job the page was filtered by (of every job without a filter)."""
    form = DeadLetterReplayAllForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That replay was not understood. Nothing was replayed.")
        return redirect("web:jobs")
    task, through = form.cleaned_data["task"] or None, form.cleaned_data["through"]
    letters = selectors.dead_letters_of(actor=request.actor, task_path=task)
    if through:
        # Only those the confirmation counted: dead letters that arrived since wait for another look.
        letters = letters.filter(pk__lte=through)
    count = services.dead_letters_replay_matching(actor=request.actor, dead_letters=letters)
    of = f" of {task}" if task else ""
    messages.success(request, f"Replayed {count} dead letter{'s' if count != 1 else ''}{of}.")
    return redirect(f"{reverse('web:jobs')}?{urlencode({'task': task})}" if task else "web:jobs")
