"""Every page needs an active staff user; login and logout are Django's, styled like the rest."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

STAFF_PAGES = [reverse("generations:list"), reverse("insights"), reverse("health")]


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_anonymous_users_are_sent_to_the_login_page(client, url):
    response = client.get(url + "?q=x")

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}%3Fq%3Dx"


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_an_expired_session_in_an_htmx_request_redirects_the_whole_page(client, url):
    response = client.get(url, headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/?status=failed"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{reverse('login')}?next=%2F%3Fstatus%3Dfailed"


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_signed_in_users_who_are_not_staff_get_the_403_page(plain_client, url):
    response = plain_client.get(url)

    assert response.status_code == 403
    html = response.content.decode()
    assert "Access denied" in html and "for staff only" in html
    assert "app.css" in html  # the styled page, not Django's bare one


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_inactive_staff_are_refused(staff_user, url):
    staff_user.is_active = False
    staff_user.save()
    client = Client()
    client.force_login(staff_user)

    # Django's auth backend no longer recognises an inactive user: treated as anonymous.
    assert client.get(url).status_code == 302


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_staff_see_the_page(staff_client, url):
    assert staff_client.get(url).status_code == 200


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_pages_only_answer_get(staff_client, url):
    assert staff_client.post(url).status_code == 405


def test_login_page_is_styled_and_labelled(client):
    html = client.get(reverse("login")).content.decode()

    assert "app.css" in html and '<label for="id_username">' in html and '<label for="id_password">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_staff_sign_in_and_land_on_the_list(client, staff_user):
    response = client.post(reverse("login"), {"username": "staff", "password": PASSWORD, "next": "/?status=failed"})

    assert response.status_code == 302 and response["Location"] == "/?status=failed"
    assert client.get("/").status_code == 200


def test_wrong_password_shows_an_error(client, staff_user):
    response = client.post(reverse("login"), {"username": "staff", "password": "nope"})

    assert response.status_code == 200
    assert 'class="alert alert-error" role="alert"' in response.content.decode()


def test_logout_is_a_post_form_in_the_header(staff_client):
    html = staff_client.get("/").content.decode()

    assert f'<form class="signout" method="post" action="{reverse("logout")}">' in html
    assert staff_client.get(reverse("logout")).status_code == 405
    response = staff_client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert staff_client.get("/").status_code == 302


def test_superusers_without_staff_flag_are_refused(db):
    user = User.objects.create_user("root", password=PASSWORD, is_superuser=True, is_staff=False)
    client = Client()
    client.force_login(user)

    assert client.get("/").status_code == 403


def test_a_failed_csrf_check_gets_the_styled_403_page(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post(reverse("logout"))

    assert response.status_code == 403
    html = response.content.decode()
    assert "CSRF check failed" in html and "app.css" in html
