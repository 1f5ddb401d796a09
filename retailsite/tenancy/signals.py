"""Keep this process's store look-ups (selectors.py) in step with saves and deletes made here."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .models import Tenant, TenantDomain
from .selectors import clear_domain_cache, clear_tenant_cache


@receiver(post_save, sender=Tenant)
@receiver(post_delete, sender=Tenant)
def tenant_changed(**kwargs: Any) -> None:
    clear_tenant_cache()
    clear_domain_cache()


@receiver(post_save, sender=TenantDomain)
@receiver(post_delete, sender=TenantDomain)
def domain_changed(**kwargs: Any) -> None:
    clear_domain_cache()
