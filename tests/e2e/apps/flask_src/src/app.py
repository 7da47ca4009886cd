"""A team's own Flask app, made by a factory, not Rapid News."""
from flask import Flask


def create_app():
    # no static route of Flask's own: nginx serves src/static/ under /assets/ (the Procfile's static line)
    app = Flask(__name__, static_folder=None)

    @app.get("/")
    def index():
        return '<link rel="stylesheet" href="/assets/style.css"><h1>Bike Share Board</h1>'

    @app.get("/hello/<name>")
    def hello(name):
        return {"hello": name}

    return app
