"""F7: an owner no longer enrols platform users; they invite, and only the invited user's acceptance makes a
membership. The owner's answer is the same whoever the invitee is (no probing of usernames or e-mails);
invitations expire, are used once, belong to their store (row-level security) and are audited."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from retailsite.tenancy.context import platform_context, tenant_context
from retailsite.tenancy.models import Invitation, Membership, Role
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.privacy.conftest import audit_entries

pytestmark = pytest.mark.django_db

INVITE = "/admin/tenancy/invitation/add/"
INVITATIONS = "/staff/invitations/"
TIME = r"\d{4}-\d\d-\d\d \d\d:\d\d"


@pytest.fixture
def store():
    return TenantFactory(slug="alpha", name="Alpha Shop")


@pytest.fixture
def owner(store, client) -> Client:
    client.force_login(MembershipFactory(tenant=store, role=Role.OWNER).user)
    return client


def signed_in(user) -> Client:
    browser = Client()
    browser.force_login(user)
    return browser


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def invite(owner: Client, invitee: str, role: str = Role.ANALYST) -> list[str]:
    response = owner.post(INVITE, {"invitee": invitee, "role": role}, follow=True)
    assert response.status_code == 200
    return messages_of(response)


def memberships(store) -> dict[str, str]:
    with tenant_context(store):
        return dict(Membership.objects.values_list("user__username", "role"))


def token_for(store, invitee: str) -> str:
    with tenant_context(store):
        return Invitation.objects.get(invitee=invitee, status=Invitation.Status.PENDING).token


def test_an_owner_can_no_longer_add_a_platform_user_to_the_store(store, owner) -> None:
    UserFactory(username="newhire")
    response = owner.post("/admin/tenancy/membership/add/", {"username": "newhire", "role": Role.ANALYST})
    assert response.status_code == 403
    # Nor probe usernames through the form's answer.
    assert owner.post("/admin/tenancy/membership/add/", {"username": "ghost", "role": Role.VIEWER}).status_code == 403
    assert "newhire" not in memberships(store)


def test_the_owner_gets_the_same_answer_whoever_is_invited(store, owner) -> None:
    UserFactory(username="newhire", email="newhire@example.com")
    member = MembershipFactory(tenant=store, role=Role.VIEWER, user=UserFactory(username="already"))
    answers = {
        "an account's username": invite(owner, "newhire"),
        "an account's e-mail": invite(owner, "NewHire@Example.com"),
        "nobody": invite(owner, "ghost"),
        "nobody's e-mail": invite(owner, "ghost@example.com"),
        "a member": invite(owner, member.user.username),
    }
    invitees = {
        "an account's username": "newhire",
        "an account's e-mail": "NewHire@Example.com",
        "nobody": "ghost",
        "nobody's e-mail": "ghost@example.com",
        "a member": member.user.username,
    }
    shapes = {
        what: [re.sub(TIME, "<time>", text.replace(invitees[what], "<invitee>")) for text in texts]
        for what, texts in answers.items()
    }
    assert len({tuple(shape) for shape in shapes.values()}) == 1, shapes
    assert len(shapes["nobody"]) == 1 and "accept" in shapes["nobody"][0]
    # Nobody became a member, and the member's role did not change.
    assert memberships(store) == {owner_name(store): Role.OWNER, "already": Role.VIEWER}
    listing = owner.get("/admin/tenancy/invitation/").content.decode()
    assert "ghost@example.com" in listing and "newhire" in listing


def owner_name(store) -> str:
    with tenant_context(store):
        return Membership.objects.get(role=Role.OWNER).user.username


def test_the_invited_user_sees_accepts_once_and_becomes_a_member(store, owner) -> None:
    invitee = UserFactory(username="newhire")
    invite(owner, "newhire", Role.ANALYST)
    assert "newhire" not in memberships(store)
    browser = signed_in(invitee)
    page = browser.get(INVITATIONS).content.decode()
    assert "Alpha Shop" in page and "Analyst" in page
    token = token_for(store, "newhire")

    accepted = browser.post(f"{INVITATIONS}{token}/", {"answer": "accept"}, follow=True)

    assert memberships(store)["newhire"] == Role.ANALYST
    assert "You joined the store as Analyst." in messages_of(accepted)
    assert "No open invitations to a store." in browser.get(INVITATIONS).content.decode()
    # Single use: the same invitation cannot be answered again (nor turned into a decline).
    with tenant_context(store):
        Membership.objects.filter(user=invitee).delete()
    again = browser.post(f"{INVITATIONS}{token}/", {"answer": "accept"}, follow=True)
    assert "no longer open" in " ".join(messages_of(again))
    assert "newhire" not in memberships(store)


def test_the_invited_user_may_decline_and_nothing_else_changes(store, owner) -> None:
    invitee = UserFactory(username="newhire", email="hire@example.com")
    invite(owner, "HIRE@example.com")  # by the account's e-mail address, any case
    browser = signed_in(invitee)
    assert "Alpha Shop" in browser.get(INVITATIONS).content.decode()
    declined = browser.post(f"{INVITATIONS}{token_for(store, 'HIRE@example.com')}/", {"answer": "decline"}, follow=True)
    assert "Invitation declined." in messages_of(declined)
    assert "newhire" not in memberships(store)
    with tenant_context(store):
        assert Invitation.objects.get().status == Invitation.Status.DECLINED


def test_only_the_invited_user_can_answer(store, owner) -> None:
    UserFactory(username="newhire")
    intruder = UserFactory(username="intruder")
    invite(owner, "newhire", Role.OWNER)
    browser = signed_in(intruder)
    assert "Alpha Shop" not in browser.get(INVITATIONS).content.decode()
    refused = browser.post(f"{INVITATIONS}{token_for(store, 'newhire')}/", {"answer": "accept"}, follow=True)
    unknown = browser.post(f"{INVITATIONS}not-a-token/", {"answer": "accept"}, follow=True)
    assert messages_of(refused) == messages_of(unknown)  # a wrong user learns nothing about the token
    assert "intruder" not in memberships(store)


def test_an_expired_or_revoked_invitation_cannot_be_accepted(store, owner) -> None:
    late, revoked = UserFactory(username="late"), UserFactory(username="revoked")
    invite(owner, "late")
    invite(owner, "revoked")
    with tenant_context(store):
        Invitation.objects.filter(invitee="late").update(expires_at=timezone.now() - dt.timedelta(seconds=1))
        revoked_pk = Invitation.objects.get(invitee="revoked").pk
    late_token, revoked_token = token_for(store, "late"), token_for(store, "revoked")
    owner.post("/admin/tenancy/invitation/", {"action": "revoke", "_selected_action": [revoked_pk]})
    for user, token in ((late, late_token), (revoked, revoked_token)):
        browser = signed_in(user)
        assert "Alpha Shop" not in browser.get(INVITATIONS).content.decode()
        browser.post(f"{INVITATIONS}{token}/", {"answer": "accept"})
    assert set(memberships(store)) == {owner_name(store)}


def test_a_manager_cannot_invite(store, client) -> None:
    client.force_login(MembershipFactory(tenant=store, role=Role.MANAGER).user)
    assert client.post(INVITE, {"invitee": "someone", "role": Role.OWNER}).status_code == 403
    assert client.get("/admin/tenancy/invitation/").status_code == 403
    with tenant_context(store):
        assert not Invitation.objects.exists()


def test_invitations_are_walled_per_store_by_the_database(store, owner) -> None:
    other = TenantFactory(slug="beta")
    invite(owner, "newhire")
    with tenant_context(other), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tenancy_invitation")
        assert cursor.fetchone() == (0,)
        cursor.execute("UPDATE tenancy_invitation SET status = 'accepted'")
        assert cursor.rowcount == 0
    with platform_context():
        assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_invite_accept_and_decline_are_in_the_audit_log(store, owner) -> None:
    accepting, declining = UserFactory(username="yes"), UserFactory(username="no")
    invite(owner, "yes")
    invite(owner, "no")
    signed_in(accepting).post(f"{INVITATIONS}{token_for(store, 'yes')}/", {"answer": "accept"})
    signed_in(declining).post(f"{INVITATIONS}{token_for(store, 'no')}/", {"answer": "decline"})
    owner_id = get_user_model().objects.get(username=owner_name(store)).pk
    entries = audit_entries(store, object_type="tenancy_invitation")
    assert [(e.action, e.actor) for e in entries] == [
        ("create", f"user:{owner_id}"),
        ("create", f"user:{owner_id}"),
        ("update", f"user:{accepting.pk}"),
        ("update", f"user:{declining.pk}"),
    ]
    joined = audit_entries(store, object_type="tenancy_membership", action="create")
    assert [e.actor for e in joined if e.actor.startswith("user:")] == [f"user:{accepting.pk}"]


def test_a_platform_superuser_still_sets_memberships_directly(store) -> None:
    root = get_user_model().objects.create_superuser("root", "root@example.com", "correct horse battery staple")
    MembershipFactory(tenant=store, user=root, role=Role.OWNER)  # a store selected: the admin adds to it
    UserFactory(username="hired")
    admin = signed_in(root)
    admin.post("/staff/switch-store/", {"tenant_id": str(store.pk)})
    response = admin.post("/admin/tenancy/membership/add/", {"username": "hired", "role": Role.MANAGER})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert memberships(store)["hired"] == Role.MANAGER


def test_the_ops_command_sets_a_membership_and_names_an_unknown_user(store) -> None:
    UserFactory(username="first-owner")
    call_command("tenant", "member", "alpha", "first-owner", "owner")
    assert memberships(store)["first-owner"] == Role.OWNER
    with pytest.raises(CommandError, match="No active user 'nobody'"):
        call_command("tenant", "member", "alpha", "nobody", "viewer")
