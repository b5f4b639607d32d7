from django.apps import AppConfig


class GennieAdminConfig(AppConfig):
    name = "gennie_admin"
    verbose_name = "Gennie Admin"
    default_auto_field = "django.db.models.BigAutoField"
