"""The workshop's template tester: render a Jinja2 template file with data from a JSON file.

    python -m app.render app/templates/index.html app/sample_data/frontpage.json
    ./inv template app/templates/index.html app/sample_data/frontpage.json

Templates render as in the app (its filters, url_for, and its templates for extends/import),
so a page can be tried out without a database. Templates next to the file come first.
"""
import json
import sys
from pathlib import Path

import jinja2

from app import create_app


class RenderError(Exception):
    """A mistake in the template or the data, said in one line."""


def render_file(template_path, data_path=None):
    template_path = Path(template_path)
    data = load_data(data_path) if data_path else {}
    app = create_app({"SECRET_KEY": "template-tester", "TESTING": True})
    loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(template_path.parent), app.jinja_loader])
    env = app.jinja_env.overlay(loader=loader)
    with app.test_request_context("/"):
        context = {}
        app.update_template_context(context)    # request, session, first_visit, ...
        try:
            return env.get_template(template_path.name).render({**context, **data})
        except jinja2.TemplateSyntaxError as error:
            raise RenderError(f"{error.filename or template_path}:{error.lineno}: {error.message}")
        except jinja2.TemplateNotFound as error:
            raise RenderError(f"{template_path}: template not found: {error.name}")
        except jinja2.TemplateError as error:
            raise RenderError(f"{template_path}: {error}")


def load_data(data_path):
    try:
        data = json.loads(Path(data_path).read_text())
    except OSError as error:
        raise RenderError(f"{data_path}: {error.strerror}")
    except json.JSONDecodeError as error:
        raise RenderError(f"{data_path}:{error.lineno}: not valid JSON: {error.msg}")
    if not isinstance(data, dict):
        raise RenderError(f"{data_path}: the data must be a JSON object of template variables")
    return data


def main(argv):
    if len(argv) not in (1, 2):
        sys.exit("usage: python -m app.render TEMPLATE [DATA.json]")
    try:
        print(render_file(*argv))
    except RenderError as error:
        sys.exit(f"render: {error}")


if __name__ == "__main__":
    main(sys.argv[1:])
