import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from stocktrace.core.errors import DomainError
from stocktrace.jobs import selectors, services
from stocktrace.jobs.models import DeadLetter
from stocktrace.jobs.worker import DEFAULT_HEARTBEAT_SECONDS, DEFAULT_LEASE_SECONDS, lease_problem, sweep_lost_jobs


class Command(BaseCommand):
    group = "Operate"
    help = "Job statistics, dead letters (list, show, replay, discard), pruning and sweeping."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        stats = sub.add_parser("stats", help="throughput, failures, queue depth, workers")
        stats.add_argument("--json", action="store_true")
        dlq = sub.add_parser("dlq", help="dead letters").add_subparsers(dest="dlq_action", required=True)
        listing = dlq.add_parser("list")
        listing.add_argument("--status", default="dead", choices=[*DeadLetter.Status.values, "all"])
        listing.add_argument("--task", default=None, help="only this job (its dotted path)")
        dlq.add_parser("show").add_argument("id", type=int)
        replay = dlq.add_parser("replay", help="replay one dead letter, or all matching with --all")
        replay.add_argument("id", type=int, nargs="?")
        replay.add_argument("--all", action="store_true")
        replay.add_argument("--task", default=None)
        dlq.add_parser("discard").add_argument("id", type=int)
        prune = sub.add_parser("prune", help="delete old finished results")
        prune.add_argument("--days", type=int, default=None)
        sweep = sub.add_parser("sweep", help="retry jobs of workers that stopped")
        sweep.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS,
                           help="the workers' --lease (default 60)")
        sweep.add_argument("--heartbeat", type=float, default=DEFAULT_HEARTBEAT_SECONDS,
                           help="the workers' --heartbeat (default 5), which the lease must outlast three times")

    def handle(self, *args, action, **options):
        try:
            getattr(self, f"do_{action}")(**options)
        except DomainError as error:
            raise CommandError(error.detail) from error

    def _print_json(self, value) -> None:
        self.stdout.write(json.dumps(value, cls=DjangoJSONEncoder, indent=2))

    def do_stats(self, *, json: bool, **options):
        stats = selectors.job_stats()
        if json:
            return self._print_json(stats)
        self.stdout.write(f"workers alive: {len(stats['workers'])}")
        for worker in stats["workers"]:
            self.stdout.write(f"  {worker['worker_id']} {worker['hostname']}:{worker['pid']} "
                              f"done={worker['tasks_done']} current={worker['current_task_id'] or '-'}")
        self.stdout.write("queues:")
        for queue in stats["queues"]:
            self.stdout.write(f"  {queue['queue']:<16} due={queue['due']} ready={queue['ready']} "
                              f"running={queue['running']} oldest_due_age_s={queue['oldest_due_age_s']}")
        for window, rows in stats["windows"].items():
            self.stdout.write(f"last {window}:")
            for row in rows:
                self.stdout.write(f"  {row['task']:<60} ok={row['succeeded']} failed={row['failed_attempts']} "
                                  f"retries={row['retries']} dead={row['dead']} avg_run_ms={row['avg_run_ms']}")

    def do_dlq(self, *, dlq_action: str, **options):
        letter: DeadLetter | None
        if dlq_action == "list":
            letters = DeadLetter.objects.order_by("-pk")
            if options["status"] != "all":
                letters = letters.filter(status=options["status"])
            if options["task"]:
                letters = letters.filter(task_path=options["task"])
            for letter in letters[:500]:
                self.stdout.write(f"{letter.pk:>6} {letter.status:<9} {letter.task_path} attempts={letter.attempts} "
                                  f"last={letter.last_failed_at:%Y-%m-%d %H:%M:%S} {letter.last_error[:80]}")
            return None
        if dlq_action == "replay" and options["all"]:
            letters = DeadLetter.objects.all()
            if options["task"]:
                letters = letters.filter(task_path=options["task"])
            count = services.dead_letters_replay_matching(actor=None, dead_letters=letters)
            return self.stdout.write(f"replayed {count}")
        if options.get("id") is None:
            raise CommandError("Give a dead letter id (or --all for replay)")
        letter = DeadLetter.objects.filter(pk=options["id"]).first()
        if letter is None:
            raise CommandError(f"No dead letter {options['id']}")
        if dlq_action == "show":
            attempts = [{"attempt": a.attempt, "failed_at": a.failed_at, "error": f"{a.exception_class}: {a.message}",
                         "traceback": a.traceback} for a in selectors.dead_letter_attempts(letter)]
            return self._print_json({"id": letter.pk, "task_path": letter.task_path, "status": letter.status,
                                     "organization_id": letter.organization_id, "args_kwargs": letter.args_kwargs,
                                     "attempts": attempts})
        if dlq_action == "replay":
            letter = services.dead_letter_replay(actor=None, dead_letter=letter)
            return self.stdout.write(f"replayed {letter.pk} as job {letter.replay_task_id}")
        services.dead_letter_discard(actor=None, dead_letter=letter)
        return self.stdout.write(f"discarded {letter.pk}")

    def do_prune(self, *, days, **options):
        self._print_json(services.jobs_prune(older_than_days=days))

    def do_sweep(self, *, lease, heartbeat, **options):
        problem = lease_problem(lease_seconds=lease, heartbeat_seconds=heartbeat)
        if problem:
            raise CommandError(problem)
        self.stdout.write(f"swept {sweep_lost_jobs(lease_seconds=lease)}")
