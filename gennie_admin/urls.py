"""URLs. The generations pages live in the "generations" namespace (list, detail, timeline, delete)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from .converters import GenerationIdConverter
from .views.delete import generation_delete
from .views.detail import generation_detail, generation_download, generation_timeline
from .views.health import health, healthz
from .views.insights import insights
from .views.list import generation_list

# Generation ids may hold any character, slashes included: see converters.py.
register_converter(GenerationIdConverter, "generation_id")

generation_patterns = (
    [
        path("", generation_list, name="list"),
        path("generations/<generation_id:generation_id>/", generation_detail, name="detail"),
        path("generations/<generation_id:generation_id>/timeline/", generation_timeline, name="timeline"),
        path("generations/<generation_id:generation_id>/download/", generation_download, name="download"),
        path("generations/<generation_id:generation_id>/delete/", generation_delete, name="delete"),
    ],
    "generations",
)

urlpatterns = [
    path("", include(generation_patterns)),
    path("insights/", insights, name="insights"),
    path("health/", health, name="health"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
