"""The base of management commands that act on one store named by its slug (`--tenant SLUG`)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from .models import Tenant


def tenant_for_command(slug: str, *, nothing_done: str = "") -> Tenant:
    """The store with this slug, or a CommandError naming the known ones and how to create it.

    `nothing_done` (e.g. "; nothing was imported") tells the operator what did not happen.
    """
    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        known = ", ".join(Tenant.objects.order_by("slug").values_list("slug", flat=True)) or "none yet"
        raise CommandError(
            f"No tenant {slug!r}{nothing_done}. Known tenants: {known}. "
            f"Create one with: manage.py tenant create {slug} --name NAME"
        )
    return tenant


class TenantCommand(BaseCommand):
    """A command on one store: `add_tenant_argument` in add_arguments (or on each subcommand's parser),
    then `self.tenant(options)` in handle."""

    def add_tenant_argument(
        self, parser: CommandParser, *, required: bool = True, help: str = "the store's slug"
    ) -> None:
        parser.add_argument("--tenant", required=required, metavar="SLUG", help=help)

    def tenant(self, options: dict, *, nothing_done: str = "") -> Tenant:
        return tenant_for_command(options["tenant"], nothing_done=nothing_done)
