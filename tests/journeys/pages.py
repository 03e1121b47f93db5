"""Reading HTML pages like a browser: the forms, their fields and their buttons."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class HtmlForm:
    """A form of a page as a browser would submit it (buttons listed apart)."""

    action: str
    fields: dict[str, str]
    buttons: list[tuple[str, str]]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(HtmlForm(values.get("action", ""), {}, []))
        elif tag == "input" and self.forms and "name" in values:
            self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms and "name" in values:
            self.forms[-1].buttons.append((values["name"], values.get("value", "")))


def html_forms(html: str) -> list[HtmlForm]:
    """The forms of an HTML page with their fields and buttons."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
