"""The page style of every report (inline CSS: no web fonts, no external files).

Readable on a laptop: a 1040-pixel content column, 16-pixel system fonts, tables that
scroll sideways instead of squeezing, images that shrink to the column on narrow screens.
"""

PAGE_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; background: #f3f4f6; color: #1f2328;
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  "Noto Sans", "Liberation Sans", sans-serif; }
main { max-width: 1040px; margin: 24px auto; padding: 28px 36px 36px; background: #fff;
  border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
h1 { font-size: 1.75rem; line-height: 1.25; margin: 0 0 4px; }
h2 { font-size: 1.3rem; margin: 32px 0 12px; padding-top: 20px; border-top: 1px solid #e3e6ea; }
.subtitle { font-size: 1.05rem; color: #4b5563; margin: 0 0 12px; }
code { font: .9em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono",
  monospace; background: #f3f4f6; padding: 1px 4px; border-radius: 3px;
  overflow-wrap: anywhere; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px;
  margin: 8px 0 0; font-size: .92rem; color: #4b5563; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; }
nav ul { list-style: none; padding: 0; margin: 16px 0 0; display: flex; flex-wrap: wrap;
  gap: 6px 8px; }
nav a { display: inline-block; padding: 3px 10px; border: 1px solid #d0d7de;
  border-radius: 14px; color: #0b5cad; text-decoration: none; font-size: .92rem; }
nav a:hover { background: #eef4fb; }
a { color: #0b5cad; }
p { margin: 8px 0 12px; max-width: 78ch; }
ul { margin: 8px 0 14px; padding-left: 22px; max-width: 82ch; }
li { margin: 4px 0; }
.callout { margin: 12px 0; padding: 10px 14px; border-left: 5px solid; border-radius: 4px;
  max-width: 82ch; }
.callout.warning { background: #fff5e6; border-color: #e69f00; }
.callout.note { background: #eef4fb; border-color: #0072b2; }
.callout.good { background: #eaf7f0; border-color: #009e73; }
.key-numbers { display: flex; flex-wrap: wrap; gap: 12px; margin: 14px 0 18px; }
.kn { flex: 1 1 130px; max-width: 230px; padding: 10px 14px; border: 1px solid #e3e6ea;
  border-radius: 6px; background: #fafbfc; }
.kn-label { font-size: .85rem; color: #4b5563; }
.kn-value { font-size: 1.45rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.kn-detail { font-size: .82rem; color: #6b7280; }
.table-wrap { overflow-x: auto; margin: 12px 0 18px; }
table { border-collapse: collapse; font-size: .93rem; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 0 0 6px; }
th, td { padding: 6px 12px; border-bottom: 1px solid #e3e6ea; text-align: left;
  vertical-align: top; }
th { background: #f1f3f5; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fafbfc; }
figure { margin: 16px 0 22px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid #e3e6ea;
  border-radius: 4px; }
figcaption { font-size: .9rem; color: #4b5563; margin-top: 6px; max-width: 90ch; }
footer { margin-top: 36px; padding-top: 14px; border-top: 1px solid #e3e6ea;
  font-size: .9rem; color: #4b5563; }
@media (max-width: 720px) { main { margin: 0; padding: 16px; border-radius: 0; } }
@media print { body { background: #fff; } main { box-shadow: none; margin: 0; } nav { display: none; } }
"""
"""CSS of the report page."""
