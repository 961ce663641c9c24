"""The `stocktrace` command: every management command, with production settings by default.

`stocktrace` or `stocktrace --help` lists stocktrace's own commands by purpose (each command class's `group`);
Django's internal ones (startproject, squashmigrations, axes_*, …) stay reachable as `stocktrace django …`.
A closed pipe (`stocktrace export items - | head`) or Ctrl-C ends a command quietly, as other Unix tools do."""

import os
import signal
import sys
from collections import defaultdict

GROUPS = ["Try it", "Run", "Set up", "Data", "Operate"]
# Django's commands that a stocktrace operator needs, listed beside stocktrace's own.
DJANGO_ESSENTIALS = {"migrate": ("Run", "Apply the database migrations (serve refuses to start while some are "
                                        "pending).")}


def _summary(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."


def front_page() -> str:
    import django
    from django.core.management import get_commands, load_command_class

    django.setup()
    rows: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, app in get_commands().items():
        if app.startswith("stocktrace."):
            command = load_command_class(app, name)
            rows[getattr(command, "group", "Other")].append((name, _summary(command.help)))
    for name, (group, text) in DJANGO_ESSENTIALS.items():
        rows[group].append((name, text))
    lines = ["stocktrace: scan-driven inventory.", "",
             "Usage: stocktrace <command> [options]    (stocktrace <command> --help for its options)"]
    for group in [*GROUPS, *sorted(set(rows) - set(GROUPS))]:
        lines += ["", f"{group}:"] + [f"  {name:<12} {text}" for name, text in sorted(rows.get(group, []))]
    lines += ["", "Django's own commands (shell, dbshell, changepassword, …): stocktrace django help"]
    return "\n".join(lines) + "\n"


def _run(argv: list[str]) -> None:
    from django.core.management import execute_from_command_line

    if not argv or argv[0] in ("-h", "--help", "help") and len(argv) == 1:
        sys.stdout.write(front_page())
    elif argv[0] == "django":
        execute_from_command_line(["stocktrace", *(argv[1:] or ["help"])])
    else:
        execute_from_command_line(["stocktrace", *argv])


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        _run(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`| head`): nothing more to say. Point stdout at /dev/null so the interpreter's
        # final flush does not raise again, and exit as a process killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    except KeyboardInterrupt:
        sys.stderr.write("\nInterrupted.\n")
        sys.exit(128 + signal.SIGINT)


if __name__ == "__main__":
    main()
