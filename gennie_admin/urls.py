from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

generation_patterns = (
    [
        path("", views.generation_list, name="list"),
    ],
    "generations",
)

urlpatterns = [
    path("", include(generation_patterns)),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
