"""Staff pages for tenancy: choosing which store the admin works on."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import SESSION_TENANT_KEY


@require_POST
@staff_member_required
def switch_store(request: HttpRequest) -> HttpResponseRedirect:
    """Select the store the admin works on; only stores the user is a member of."""
    memberships = getattr(request, "staff_memberships", [])
    wanted = request.POST.get("tenant_id", "")
    if wanted == "" and request.user.is_superuser:
        request.session.pop(SESSION_TENANT_KEY, None)
        messages.info(request, "Platform scope: every store.")
    else:
        match = next((m for m in memberships if str(m.tenant_id) == wanted), None)
        if match is None:
            messages.error(request, "You are not a member of that store.")
        else:
            request.session[SESSION_TENANT_KEY] = match.tenant_id
            messages.success(request, f"Now working on {match.tenant.name}.")
    target = request.POST.get("next", "/admin/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/admin/"
    return HttpResponseRedirect(target)
