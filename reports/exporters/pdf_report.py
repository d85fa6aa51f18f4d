"""PDF export: the HTML report laid out for print by WeasyPrint.

Why WeasyPrint rather than headless Chromium ``--print-to-pdf``: it is a maintained pure-Python
package on PyPI (BSD, CourtBouillon, releases several times a year) that needs only Pango from
Debian (``libpango-1.0-0``, ``libpangoft2-1.0-0``), starts in well under a second, never opens a
socket or spawns a browser process, and honours CSS paged media (``@page`` page numbers and
the digest in every footer) that Chromium's print path ignores. It renders the very template the
HTML export uses, so the two cannot disagree (only the row cap differs).

The HTML has no external resources; the URL fetcher below refuses everything anyway, so a
crafted report can never make the PDF renderer reach the network or the file system.
"""

from __future__ import annotations

import logging
from typing import IO, Final

from reports.exporters.view import render_template
from reports.inventory import Inventory

__all__ = ["PDF_ROW_LIMIT", "html_to_pdf", "write_pdf"]

#: Device rows printed in the PDF, devices needing action first. Measured: WeasyPrint lays out
#: ~20 detailed rows a second and ~0.6 MB of layout memory per row (500 rows: 26 s, +334 MB on a
#: 2,046-device sweep; 200 rows: 13 s, +127 MB), so without a cap a large sweep would spend
#: minutes and most of its memory on an appendix nobody reads. The PDF says how many rows it left
#: out; the JSON, CSV and HTML keep every device under the same digest.
PDF_ROW_LIMIT: Final = 200

# WeasyPrint and fontTools log font-subsetting chatter at INFO/WARNING; it is noise in a CLI.
for _name in ("weasyprint", "fontTools"):
    logging.getLogger(_name).setLevel(logging.ERROR)


def html_to_pdf(html: str) -> bytes:
    """Lay out one of our self-contained HTML documents as PDF, refusing every fetch."""
    # Imported here: WeasyPrint loads Pango through cffi at import, which costs ~0.3 s that
    # commands writing only JSON or CSV should not pay.
    import weasyprint
    import weasyprint.urls

    # No protocol allowed: every fetch (http, file, data) is refused before it starts.
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=frozenset(), allow_redirects=False)
    return weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf() or b""


def write_pdf(inventory: Inventory, out: IO[bytes], signer: object | None = None) -> None:
    """Render the HTML report to PDF (A4 landscape, numbered pages).

    ``signer`` (a :class:`reports.signing.Signer`) fills the attestation block; signing the
    bytes is :func:`reports.signing.sign_pdf`'s job, after layout.
    """
    html = render_template("report.html.j2", inventory, row_limit=PDF_ROW_LIMIT, signer=signer)
    out.write(html_to_pdf(html))
