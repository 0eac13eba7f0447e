"""Reading an HTML page the way a parser does."""

from __future__ import annotations

from html.parser import HTMLParser


class HtmlCollector(HTMLParser):
    """The tags, attributes and text of an HTML page, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)
