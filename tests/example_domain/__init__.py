"""An empty domain app, added as the "adding a domain" checklist of docs/architecture.md says: its own folder
and one line in settings (settings.py here). tests/core/test_adding_a_domain.py runs checks.py with it installed and
shows that stocktrace finds every piece without an edit anywhere else."""
