"""URLs. The generations pages live in the "generations" namespace (list, exports, bulk delete, detail, timeline,
delete, notes)."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from .converters import GenerationIdConverter
from .views.audit import audit_log
from .views.bulk_delete import bulk_delete
from .views.delete import generation_delete
from .views.detail import generation_detail, generation_download, generation_timeline
from .views.export import export_csv, export_jsonl
from .views.health import health, healthz
from .views.insights import insights
from .views.list import generation_list
from .views.notes import note_add, note_delete

# Generation ids may hold any character, slashes included: see converters.py.
register_converter(GenerationIdConverter, "generation_id")

generation_patterns = (
    [
        path("", generation_list, name="list"),
        path("export.csv", export_csv, name="export_csv"),
        path("export.jsonl", export_jsonl, name="export_jsonl"),
        path("bulk-delete/", bulk_delete, name="bulk_delete"),
        path("generations/<generation_id:generation_id>/", generation_detail, name="detail"),
        path("generations/<generation_id:generation_id>/timeline/", generation_timeline, name="timeline"),
        path("generations/<generation_id:generation_id>/download/", generation_download, name="download"),
        path("generations/<generation_id:generation_id>/delete/", generation_delete, name="delete"),
        path("generations/<generation_id:generation_id>/notes/", note_add, name="note_add"),
        path("generations/<generation_id:generation_id>/notes/<int:note_id>/delete/", note_delete, name="note_delete"),
    ],
    "generations",
)

urlpatterns = [
    path("", include(generation_patterns)),
    path("insights/", insights, name="insights"),
    # Read-only: the dashboard has no route that changes or removes an audit entry.
    path("audit/", audit_log, name="audit"),
    path("health/", health, name="health"),
    path("healthz", healthz, name="healthz"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
