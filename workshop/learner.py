"""What a check works with: the learner's app made in test mode, a database of its own, and a way
to say what is missing in one sentence. Runs inside the learner's working tree (runner.py starts
`python -m workshop.checks STEP` there), so `import app` is the learner's app."""
import os
import traceback
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path

# The base URI of the database server the runner started (or was given), e.g. mongodb://127.0.0.1:PORT/
MONGO_ENV = "WORKSHOP_MONGO_URL"
# Where no database is needed: nothing listens here, so a page that queries one fails with a 503.
NO_DATABASE = "mongodb://127.0.0.1:9/workshop"


class NotYet(Exception):
    """The exercise is not done; the message says, in a sentence, what is missing."""


class Lab:
    def __init__(self, tree, step, mongo_base=""):
        self.tree, self.step, self.mongo_base = Path(tree), step, mongo_base

    @property
    def mongo_uri(self):
        if not self.mongo_base:
            return NO_DATABASE
        return f"{self.mongo_base.rstrip('/')}/workshop_{self.step}_{os.getpid()}"

    def app(self, **settings):
        from app import create_app
        return create_app({"TESTING": True, "SECRET_KEY": "workshop", "MONGO_URI": self.mongo_uri, **settings})

    @cached_property
    def client(self):
        return self.app().test_client()

    @cached_property
    def db(self):
        """The check's own database (named after the step and this process), dropped by close()."""
        import pymongo
        self._mongo = pymongo.MongoClient(self.mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        database = self._mongo.get_default_database()
        try:
            database.command("ping")
        except pymongo.errors.PyMongoError as error:
            raise NotYet(f"The check's own database ({self.mongo_base}) does not answer: {error}. "
                         "Run it with ./inv workshop, which starts one.")
        return database

    def close(self):
        if "db" in self.__dict__:
            from pymongo.errors import PyMongoError
            try:
                self._mongo.drop_database(self.db.name)
            except PyMongoError:
                pass        # a scratch database on a scratch server: nothing to keep clean
            self._mongo.close()

    def page(self, url, client=None):
        """The page's HTML, or NotYet saying why there is none."""
        response = (client or self.client).get(url)
        if response.status_code == 404:
            raise NotYet(f"{url} answers 404 Not Found: there is no route for it yet.")
        if response.status_code != 200:
            raise NotYet(f"{url} answers with status {response.status_code} instead of a page: "
                         "run `./inv run`, open it in a browser and read the error.")
        return response.get_data(as_text=True)

    def read(self, path):
        file = self.tree / path
        if not file.is_file():
            raise NotYet(f"{path} is missing.")
        return file.read_text()


class Tables(HTMLParser):
    """The tables of a page as lists of rows, each row a list of cell texts (th and td alike)."""

    def __init__(self, html):
        super().__init__()
        self.tables, self._cell = [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None


def first_table(html, where):
    tables = Tables(html).tables
    if not tables or not tables[0]:
        raise NotYet(f"{where} has no table any more.")
    return tables[0]


def column(table, header, where):
    """The cells of the column named `header` (rows after the header row)."""
    if header not in table[0]:
        raise NotYet(f"{where} has no \"{header}\" column header yet (its headers: {', '.join(table[0])}).")
    index = table[0].index(header)
    for row in table[1:]:
        if len(row) != len(table[0]):
            raise NotYet(f"{where}: a row has {len(row)} cells but the table has {len(table[0])} headers; "
                         "add the new cell to every row.")
    return [row[index] for row in table[1:]]


def explain(error, tree):
    """A sentence for an error raised by the learner's code: what and where, no traceback."""
    if isinstance(error, SyntaxError):
        where = f"{_relative(error.filename, tree)}, line {error.lineno}"
        return f"Your code does not load: {error.msg} ({where}). Fix that line, then run the check again."
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if _inside(frame.filename, tree)]
    where = f" ({_relative(frames[-1].filename, tree)}, line {frames[-1].lineno})" if frames else ""
    return (f"Your app raised {type(error).__name__}: {error}{where}. "
            "Fix that, then run the check again.")


def _inside(filename, tree):
    """Is this the learner's code: in the tree, not in its virtualenv or in these checks?"""
    path = Path(filename).resolve()
    if not path.is_relative_to(tree.resolve()):
        return False
    parts = path.relative_to(tree.resolve()).parts
    return parts[0] not in ("workshop", ".venv") and "site-packages" not in parts


def _relative(filename, tree):
    try:
        return str(Path(filename).resolve().relative_to(tree.resolve()))
    except (TypeError, ValueError):
        return str(filename)
