"""Settings of a small Django project. On the class server the database is SQLite in the team's home (outside the
releases, so every release sees the same data) and the secret key is the team's own (FLASK_SECRET_KEY)."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("FLASK_SECRET_KEY", "only-for-a-run-on-your-own-machine")
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.staticfiles", "notes"]
MIDDLEWARE = []
ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": Path(os.environ.get("HOME", BASE_DIR)) / "mysite.sqlite3"}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "assets"]
STATIC_ROOT = BASE_DIR / "staticfiles"      # python manage.py collectstatic fills it; nginx serves it
