"""Access rules: every page needs an active staff user; some pages need a permission too."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from .models import VIEW_AUDIT_PERMISSION

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous users go to the login page; signed-in users who are not active staff get 403.

    An htmx request (a session that expired while a page polls, say) is answered with
    ``HX-Redirect`` so the whole page goes to the login form, not just the swapped region.
    What staff see holds customers' prompts and scripts, so no cache (a proxy's, the
    browser's disk) may keep it: ``Cache-Control: private, no-store``.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not user.is_authenticated:
            if request.htmx:
                next_url = request.htmx.current_url_abs_path or request.get_full_path()
                return HttpResponseClientRedirect(f"{resolve_url('login')}?{urlencode({'next': next_url})}")
            return redirect_to_login(request.get_full_path())
        if not (user.is_active and user.is_staff):
            raise PermissionDenied("Gennie Admin is for staff only.")
        response = view(request, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


#: How long the answer to "may this user see that link or button?" is reused. Only for showing
#: links: the views behind them check the permission afresh on every request.
PERMISSION_HINT_CACHE_SECONDS = 30


def shows_permitted(user: AbstractBaseUser | AnonymousUser, permission: str) -> bool:
    """Whether to show ``user`` a link or button that needs ``permission``, cached briefly per user.

    Checking a permission costs two queries; superusers have every permission without them.
    """
    if not (user.is_authenticated and user.is_active and getattr(user, "is_staff", False)):
        return False
    if getattr(user, "is_superuser", False):
        return True
    # date_joined in the key: a deleted user's id reused by a new account starts afresh.
    joined = getattr(user, "date_joined", None)
    key = f"gennie_admin:perm:{permission}:{user.pk}:{joined.timestamp() if joined else ''}"
    allowed = cache.get(key)
    if allowed is None:
        allowed = user.has_perm(permission)
        cache.set(key, allowed, PERMISSION_HINT_CACHE_SECONDS)
    return allowed


def permission_required(permission: str) -> Callable[[View], View]:
    """Staff only (see ``staff_required``), and then 403 without ``permission`` (superusers have all)."""

    def decorator(view: View) -> View:
        @wraps(view)
        def checked(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.has_perm(permission):
                raise PermissionDenied(f"This page needs the {permission} permission.")
            return view(request, *args, **kwargs)

        return staff_required(checked)

    return decorator


def navigation(request: HttpRequest) -> dict[str, object]:
    """Context processor: which permission-gated links the top bar shows (checked lazily)."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {"can_view_audit": SimpleLazyObject(lambda: shows_permitted(user, VIEW_AUDIT_PERMISSION))}
