"""One check per exercise of docs/workshop/. Each takes a Lab, returns what it saw when the exercise
is done, and raises NotYet with what is missing, in a sentence a beginner understands.

    python -m workshop.checks STEP      (in the learner's working tree; runner.py does it)
"""
import os
import re
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from workshop.learner import MONGO_ENV, Lab, NotYet, column, explain, first_table

OUTPUT_MARKER = "workshop-check: "      # the learner's code may print too: the runner reads this line


def check_prototype(lab):
    where = "The prototype's table (app/static/prototype/index.html)"
    cells = column(first_table(lab.read("app/static/prototype/index.html"), where), "Domain", where)
    if not all(cells):
        raise NotYet(f"{where} has an empty Domain cell: write a domain in every row, e.g. gutenberg.org.")
    return f"the prototype's table has a Domain column, filled in all {len(cells)} rows."


def check_templates(lab):
    from app.render import RenderError, render_file
    try:
        html = render_file(lab.tree / "app/templates/index.html", lab.tree / "app/sample_data/frontpage.json")
    except RenderError as error:
        raise NotYet(f"The template tester cannot render the front page: {error}")
    where = "The front page from the template tester (./inv template app/templates/index.html app/sample_data/frontpage.json)"
    cells = column(first_table(html, where), "Domain", where)
    expected = ["google.com", "yahoo.com", "bing.com"]
    if cells != expected:
        raise NotYet(f"{where} shows {', '.join(cells) or 'nothing'} in its Domain column instead of "
                     f"{', '.join(expected)}: write {{{{ article.link|domain }}}} in app/templates/_articles.html.")
    if "domain" not in lab.app().jinja_env.filters:
        raise NotYet("The Domain column is right, but there is no `domain` filter: write one in app/filters.py "
                     "and register it in init_app, as human_date is.")
    return "the front page template shows each link's domain, with the domain filter."


def check_routes(lab):
    about = lab.page("/about")
    if not re.search(r"<title>[^<]*About", about):
        raise NotYet("/about has no title with \"About\" in it: extend layout.html and fill its title block.")
    if 'class="navbar' not in about:
        raise NotYet("/about has no navbar: start the template with {% extends \"layout.html\" %}.")
    if not re.search(r'<a class="nav-link[^"]*"[^>]*href="/about"', lab.page("/submit")):
        raise NotYet("The navbar has no link to /about yet: add your page to `navigation` in app/templates/layout.html.")
    return "/about is a page of its own, and the navbar links to it."


def check_mongodb(lab):
    now = datetime.now(timezone.utc)
    stored = [("Old but popular", 50, 3), ("Brand new", 0, 0), ("From yesterday", 5, 1)]   # title, score, days ago
    lab.db.articles.insert_many([
        {"title": title, "link": f"https://example.com/{n}", "score": score, "date": now - timedelta(days=days)}
        for n, (title, score, days) in enumerate(stored)])
    page = lab.page("/new")
    newest_first = ["Brand new", "From yesterday", "Old but popular"]
    missing = [title for title in newest_first if title not in page]
    if missing:
        raise NotYet(f"/new does not list the article \"{missing[0]}\": find the articles in the database "
                     "(write articles.newest in app/articles.py).")
    shown = sorted(newest_first, key=page.index)
    if shown != newest_first:
        raise NotYet(f"/new lists {', '.join(shown)}; newest first is {', '.join(newest_first)}: "
                     "sort by date, DESCENDING.")
    return "/new lists the articles newest first."


def check_upvotes(lab):
    link = "https://example.com/counted"
    story = {"title": "Counted story", "link": link}
    if lab.client.post("/submit.json", json=story).status_code != 201:
        raise NotYet("Submitting an article to /submit.json did not work any more: run the app's tests (./inv test --fast).")
    for _ in range(2):
        lab.client.get(f"/click?url={link}")
    lab.client.post("/submit.json", json=story)              # an explicit upvote is not a click
    article = lab.db.articles.find_one({"link": link})
    if "clicks" not in article:
        raise NotYet("After two clicks the article has no `clicks` field in MongoDB: in articles.click, "
                     "add \"clicks\": 1 to the $inc next to the score's.")
    if article["clicks"] != 2 or article["score"] != 2 + 5:
        raise NotYet(f"After two clicks and one re-submit the article has clicks {article['clicks']} and score "
                     f"{article['score']}; expected clicks 2 (only clicks count) and score 7 (1 per click, 5 per re-submit).")
    if "2 clicks" not in lab.page("/"):
        raise NotYet("The clicks are counted but the front page does not show them: write \"2 clicks\" "
                     "(the `clicks` field, then \"clicks\") in app/templates/_articles.html.")
    return "clicks are counted apart from the score, with $inc, and shown on the front page."


def check_search(lab):
    now = datetime.now(timezone.utc)
    lab.db.articles.insert_many([
        {"title": "Gadgets and gizmos", "link": "https://github.com/octo/gadgets", "score": 1, "date": now},
        {"title": "Python news", "link": "https://example.org/py", "score": 1, "date": now}])
    if "Gadgets and gizmos" not in lab.page("/search?q=GitHub"):
        raise NotYet("Searching for GitHub does not find \"Gadgets and gizmos\", whose link is "
                     "https://github.com/octo/gadgets: make articles.search look in links too ($or).")
    found = lab.page("/search?q=PYTHON")
    if "Python news" not in found or "Gadgets and gizmos" in found:
        raise NotYet("Searching for PYTHON should find \"Python news\" (by its title, whatever the case) and "
                     "nothing else: keep the title search as it was and add the link search beside it.")
    return "search finds articles by their title or their link."


def check_spa(lab):
    lab.db.articles.insert_one({"title": "Gadgets", "link": "https://github.com/octo/gadgets", "score": 1,
                                "date": datetime.now(timezone.utc)})
    article = lab.client.get("/frontpage.json").get_json()["articles"][0]
    if article.get("domain") != "github.com":
        raise NotYet(f"/frontpage.json gives the domain {article.get('domain')!r} for https://github.com/octo/gadgets "
                     "instead of 'github.com': add \"domain\" in as_json in app/api.py.")
    where = "The single-page table (app/templates/spa.html)"
    column(first_table(lab.read("app/templates/spa.html"), where), "Domain", where)
    if "article.domain" not in lab.read("app/static/js/spa.js"):
        raise NotYet("app/static/js/spa.js does not use article.domain yet: add a cell with it in articleRow.")
    return "the JSON API gives each article's domain and the single-page variant shows it."


def navbar_brand(page):
    found = re.search(r'class="navbar-brand"[^>]*>([^<]*)<', page)
    return found.group(1).strip() if found else ""


def check_deploy(lab):
    named = navbar_brand(lab.page("/submit", client=lab.app(SITE_NAME="Team Seven News").test_client()))
    if named != "Team Seven News":
        raise NotYet(f"With the setting SITE_NAME=\"Team Seven News\" the navbar says \"{named}\": "
                     "write {{ config.SITE_NAME }} in the navbar-brand link of app/templates/layout.html.")
    default = navbar_brand(lab.page("/submit"))
    if default != "Rapid News":
        raise NotYet(f"Without the setting the navbar says \"{default}\" instead of \"Rapid News\": "
                     "give SITE_NAME that default in create_app (app/__init__.py).")
    return "the site's name is a setting (FLASK_SITE_NAME on a server), Rapid News by default."


def check_architecture(lab):
    release = "20990101T000000Z-abc1234"
    with tempfile.TemporaryDirectory() as scratch:
        release_file = Path(scratch) / "RELEASE"
        release_file.write_text(release + "\n")
        page = lab.page("/submit", client=lab.app(RELEASE_FILE=str(release_file)).test_client())
        footer = re.search(r"<footer\b.*?</footer>", page, re.DOTALL)
        if not footer:
            raise NotYet("The pages have no <footer> yet: add one at the end of app/templates/layout.html.")
        if release not in footer.group(0):
            raise NotYet(f"The footer does not show the release {release} from the RELEASE file: read it with "
                         "read_release (app/health.py) in a context processor.")
        lab.page("/submit", client=lab.app(RELEASE_FILE=str(Path(scratch) / "missing")).test_client())
    return "every page's footer says which release served it."


OWN_APP = "docs/workshop/10-own-app.md"


def check_own_app(lab):
    from deploy.core.procfile import ProcfileError, parse
    if not (lab.tree / "Procfile").is_file():
        raise NotYet(f"There is no Procfile at the root of your checkout yet: write one whose web line names your "
                     f"app, e.g. `web: myapp.main:create_app()` ({OWN_APP}).")
    try:
        procfile = parse(lab.read("Procfile"), "Procfile")
    except ProcfileError as error:
        raise NotYet(f"{str(error).rstrip('.')}: fix that line, then run the check again.")
    module, _, name = procfile.web.partition(":")
    if module.split(".")[0] == "app":
        raise NotYet(f"The Procfile's web line runs Rapid News ({procfile.web}): write your own app in a folder of "
                     "its own, e.g. myapp/, and name it there, e.g. `web: myapp.main:create_app()`.")
    for prefix, folder in procfile.static:
        if not (lab.tree / folder).is_dir():
            raise NotYet(f"The Procfile serves {prefix} from {folder}/, which is not a folder of your checkout.")
    status = own_app_answer(lab, module, name, procfile.health)
    if status >= 500:
        raise NotYet(f"{procfile.health} of your app answers {status}: run it (flask --app {module} run) and read "
                     "the error.")
    return f"your own app ({procfile.web}) answers {procfile.health} with {status}; fab deploy makes it your site."


def own_app_answer(lab, module, name, path):
    """The status of GET `path` on the WSGI app the Procfile's web line names (module:callable, or a factory())."""
    import importlib
    from werkzeug.test import Client
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as error:
        if not (module == error.name or module.startswith(f"{error.name}.")):
            raise       # the app itself imports what is missing: said with its file and line
        folder = f" (and an empty {module.rpartition('.')[0].replace('.', '/')}/__init__.py)" if "." in module else ""
        raise NotYet(f"The Procfile's web line names the module {module}, which is not in your checkout: "
                     f"write {module.replace('.', '/')}.py{folder}.")
    application = getattr(loaded, name.removesuffix("()"), None)
    if application is None:
        raise NotYet(f"{module} has no {name.removesuffix('()')}: define it, or fix the Procfile's web line.")
    if name.endswith("()"):
        application = application()
    return Client(application).get(path).status_code


CHECKS = {
    "prototype": check_prototype, "templates": check_templates, "routes": check_routes,
    "mongodb": check_mongodb, "upvotes": check_upvotes, "search": check_search, "spa": check_spa,
    "deploy": check_deploy, "architecture": check_architecture, "own-app": check_own_app,
}


def run(step, tree, mongo_base):
    """(passed, sentence) for one step's exercise in `tree`."""
    lab = Lab(tree, step, mongo_base)
    try:
        return True, CHECKS[step](lab)
    except NotYet as missing:
        return False, str(missing)
    except Exception as error:            # the learner's code failed: say where, not a traceback
        return False, explain(error, lab.tree)
    finally:
        lab.close()


def main(argv):
    passed, said = run(argv[0], Path.cwd(), os.environ.get(MONGO_ENV, ""))
    print(OUTPUT_MARKER + ("done: " if passed else "not yet: ") + said)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main(sys.argv[1:])
