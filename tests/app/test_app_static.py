"""Vendored assets and the static prototype: all local, nothing from a CDN."""
import re

import pytest

from app import PROJECT_ROOT

STATIC = PROJECT_ROOT / "app" / "static"
VENDORED = {
    "vendor/bootstrap/bootstrap.min.css": "Bootstrap  v5.3.8",
    "vendor/bootstrap/bootstrap.bundle.min.js": "Bootstrap v5.3.8",
    "vendor/jquery/jquery.min.js": "jQuery v4.0.0",
}


@pytest.mark.parametrize("path, banner", VENDORED.items())
def test_vendored_files_are_the_pinned_versions(path, banner):
    assert banner in (STATIC / path).read_text()[:300]


def test_licenses_are_vendored_too():
    assert "MIT License" in (STATIC / "vendor/bootstrap/LICENSE").read_text()
    assert "Permission is hereby granted" in (STATIC / "vendor/jquery/LICENSE.txt").read_text()


def test_vendored_assets_stay_small():
    total = sum(path.stat().st_size for path in (STATIC / "vendor").rglob("*") if path.is_file())
    assert total < 600 * 1024


@pytest.mark.parametrize("page", sorted((STATIC / "prototype").glob("*.html")), ids=lambda p: p.name)
def test_prototype_pages_use_only_local_files(page):
    html = page.read_text()
    urls = re.findall(r'(?:href|src)="([^"#]+)"', html)
    assert urls, "the page links to nothing"
    for url in urls:
        assert not re.match(r"(https?:)?//", url), url
        assert (page.parent / url).resolve().is_file(), url


def test_prototype_is_served(client):
    page = client.get("/static/prototype/index.html").get_data(as_text=True)
    assert "The Meditations of Marcus Aurelius" in page and 'id="first-visit-dialog"' in page


def test_templates_load_nothing_from_other_sites():
    for template in (PROJECT_ROOT / "app" / "templates").glob("*.html"):
        assert not re.search(r'(src|href)="(https?:)?//', template.read_text()), template.name
