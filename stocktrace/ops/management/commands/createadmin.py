import getpass
import os

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from stocktrace.accounts.models import User
from stocktrace.accounts.services import organization_create
from stocktrace.core.errors import DomainError


class Command(BaseCommand):
    group = "Set up"
    help = "Create an organization and its first admin (the user is created when the e-mail is new)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--organization", required=True, help="the organization's name")
        parser.add_argument("--slug", default="", help="defaults to the name, slugified")
        parser.add_argument("--password", default=os.environ.get("STOCKTRACE_ADMIN_PASSWORD"),
                            help="default: $STOCKTRACE_ADMIN_PASSWORD, else asked for")

    def handle(self, *args, email, organization, slug, password, **options):
        email = email.strip().lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            if not password:
                if not os.isatty(0):
                    raise CommandError("Give --password or set STOCKTRACE_ADMIN_PASSWORD")
                password = getpass.getpass(f"Password for {email}: ")
            if len(password) < 10:
                raise CommandError("The password needs at least 10 characters")
        try:
            with transaction.atomic():
                if user is None:
                    user = User.objects.create_user(email=email, password=password)
                org = organization_create(name=organization, slug=slug, admin=user)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(self.style.SUCCESS(f"{email} is admin of {org.name} ({org.slug})"))
