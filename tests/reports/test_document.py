"""The report foundation: building a report, its HTML page and its JSON file."""

from __future__ import annotations

import json
import re

import pytest

from posekit import __version__
from posekit.errors import ConfigError, DataError
from posekit.reports import (
    SCHEMA_VERSION,
    Report,
    format_number,
    new_figure,
    read_report_json,
    render_html,
    report_paths,
    write_report,
)
from posekit.reports.document import Image, Table


class Numbers:
    """A typed result with ``to_dict`` (what report modules add)."""

    def __init__(self, **values):
        self.values = values

    def to_dict(self):
        return dict(self.values)


def sample_report() -> Report:
    """A report with every kind of block (also rendered in Chromium by the browser test)."""
    report = Report(title="Sample <report>", kind="sample", subtitle="Every block once.",
                    inputs={"labels": "data/labels & more.slp"})
    intro = report.section("Summary")
    intro.paragraph("Plain text with <b>markup</b> that must stay text.")
    intro.warning("The drug-B condition has 4 of 200 frames: add about 40.")
    intro.note("Frames come from 3 videos.")
    intro.good("No split leaks.")
    intro.key_numbers({"frames": 200, "mean error (px)": 3.14159, "label": "n/a"})
    intro.bullets(["Label more drug-B frames.", "Check the tongue node."])
    details = report.section("Details")
    details.table(["node", "mean error (px)", "frames"],
                  [["head", 2.5, 200], ["tongue", None, 12], ["tail", 1234.5, 3]],
                  caption="Per node")
    details.table_from_dicts([{"a": 1, "b": "x"}, {"a": 2}])
    with_fig = report.section("Summary")  # a repeated title gets its own anchor
    fig = new_figure(8.8, 3.0)
    fig.axes[0].plot([0, 1, 2], [3, 1, 2], label="line")
    with_fig.figure(fig, alt="A line falling from 3 to 1 and rising to 2.", caption="A plot.")
    report.add_result("numbers", Numbers(mean=3.14159, missing=float("nan"), n=200))
    return report


def test_format_number_reads_like_people_write():
    assert format_number(None) == "\u2013"
    assert format_number(float("nan")) == "\u2013"
    assert format_number(12345) == "12,345"
    assert format_number(3.14159) == "3.14"
    assert format_number(0.000456) == "0.000456"
    assert format_number(0.0000123) == "1.23e-05"
    assert format_number(123456.7) == "123,457"
    assert format_number(0.0) == "0"
    assert format_number(True) == "yes"


def test_blocks_refuse_what_would_render_badly():
    with pytest.raises(ValueError, match="row 0 has 1 cells; expected 2"):
        Table(("a", "b"), (("x",),))
    with pytest.raises(ValueError, match="PNG"):
        Image(b"GIF89a", "alt")
    with pytest.raises(ValueError, match="alt"):
        Image(b"\x89PNG\r\n\x1a\n....", "  ")
    report = Report("t", "k")
    report.add_result("a", Numbers())
    with pytest.raises(ValueError, match="already has a result named 'a'"):
        report.add_result("a", Numbers())


def test_page_is_self_contained_escaped_and_described():
    report = sample_report()
    page = render_html(report, json_name="sample.json")
    # opens offline: no scripts, no external files, images inline
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', page)
    assert images == ["A line falling from 3 to 1 and rising to 2."]
    # user text stays text
    assert "Plain text with &lt;b&gt;markup&lt;/b&gt;" in page
    assert "<title>Sample &lt;report&gt;</title>" in page
    assert "data/labels &amp; more.slp" in page
    # tables: numbers formatted and right-aligned, missing values as a dash
    assert '<td class="num">2.5</td>' in page and '<td class="num">1,234</td>' in page
    assert '<td class="num">\u2013</td>' in page
    # sections get unique anchors and a table of contents
    assert page.count('<section id="summary">') == 1 and '<section id="summary-2">' in page
    assert '<a href="#details">Details</a>' in page
    assert "Warning:</strong> The drug-B condition" in page
    assert f"posekit {__version__}" in page and 'href="sample.json"' in page


def test_write_report_writes_page_and_versioned_json(tmp_path):
    report = sample_report()
    html, js = write_report(report, tmp_path / "sample.html")
    assert js == tmp_path / "sample.json"
    data = json.loads(js.read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["kind"] == "sample" and data["posekit_version"] == __version__
    assert data["created"] == report.created and data["title"] == "Sample <report>"
    assert data["inputs"] == {"labels": "data/labels & more.slp"}
    assert data["results"] == {"numbers": {"mean": 3.14159, "missing": None, "n": 200}}
    assert 'href="sample.json"' in html.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample.html", "sample.json"]
    back = read_report_json(js, kind="sample")
    assert back.results["numbers"]["n"] == 200 and back.inputs == data["inputs"]


def test_json_beside_in_another_folder_is_linked_relatively(tmp_path):
    (tmp_path / "numbers").mkdir()
    html, _ = write_report(sample_report(), tmp_path / "page.html",
                           tmp_path / "numbers" / "page.json")
    assert 'href="numbers/page.json"' in html.read_text()


def test_a_failed_write_leaves_no_file(tmp_path):
    report = sample_report()
    report.add_result("bad", Numbers(value=object()))
    with pytest.raises(TypeError):
        write_report(report, tmp_path / "r.html")
    assert list(tmp_path.iterdir()) == []


def test_reading_a_report_json_says_what_is_wrong(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"schema_version": 99, "kind": "curves", "results": {}}')
    with pytest.raises(DataError, match="schema_version 99 is newer .* Upgrade posekit"):
        read_report_json(path)
    path.write_text('{"schema_version": 1, "kind": "model", "results": {}}')
    with pytest.raises(DataError, match="a 'model' report; expected a 'curves' report"):
        read_report_json(path, kind="curves")
    path.write_text('{"frames": 3}')
    with pytest.raises(DataError, match="not a posekit report JSON"):
        read_report_json(path)
    with pytest.raises(DataError, match="cannot read the report JSON"):
        read_report_json(tmp_path / "missing.json")


def test_report_paths_are_checked_before_any_work(tmp_path):
    default = tmp_path / "run" / "curves_report.html"
    (tmp_path / "run").mkdir()
    html, js = report_paths(None, default)
    assert (html, js) == (default, default.with_suffix(".json"))
    html.write_text("old")
    with pytest.raises(ConfigError, match="already exists.*--force"):
        report_paths(None, default)
    assert report_paths(None, default, force=True)[0] == default
    with pytest.raises(ConfigError, match="ending in .html"):
        report_paths(tmp_path / "r.pdf", default)
    with pytest.raises(ConfigError, match="replace an input"):
        report_paths(tmp_path / "r.html", default, json_path=tmp_path / "log.csv",
                     inputs=[tmp_path / "log.csv"])
    with pytest.raises(ConfigError, match="does not exist.*mkdir -p"):
        report_paths(tmp_path / "nowhere" / "r.html", default)
