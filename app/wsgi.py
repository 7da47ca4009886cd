"""The WSGI entry point: uwsgi loads `module = app.wsgi:app` from the project root.
Settings come from the environment (FLASK_MONGO_URI, FLASK_SECRET_KEY, ...)."""
from app import create_app

app = create_app()
