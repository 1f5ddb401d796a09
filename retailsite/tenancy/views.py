"""Staff pages for tenancy: choosing which store the admin works on; answering invitations to a store."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from .middleware import SESSION_TENANT_KEY
from .selectors import invitations_pending_for_user
from .services import InvitationError, invitation_accept, invitation_decline
from .staff_pages import staff_context


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


@staff_member_required
def invitations(request: HttpRequest) -> HttpResponse:
    """The signed-in user's open invitations to stores, each to accept or decline."""
    context = staff_context(request, "Invitations to stores", invitations=invitations_pending_for_user(request.user))
    return render(request, "staff/invitations.html", context)


@require_POST
@staff_member_required
def invitation_answer(request: HttpRequest, token: str) -> HttpResponseRedirect:
    """Accept (then work in that store) or decline one invitation addressed to the signed-in user."""
    answer = request.POST.get("answer", "")
    back = HttpResponseRedirect(reverse("staff-invitations"))
    try:
        if answer == "decline":
            invitation_decline(token=token, user=request.user)
            messages.info(request, "Invitation declined.")
            return back
        if answer != "accept":
            messages.error(request, "Answer with accept or decline.")
            return back
        membership = invitation_accept(token=token, user=request.user)
    except InvitationError as refused:
        messages.error(request, str(refused))
        return back
    request.session[SESSION_TENANT_KEY] = membership.tenant_id
    messages.success(request, f"You joined the store as {membership.get_role_display()}.")
    return HttpResponseRedirect(reverse("admin:index"))
