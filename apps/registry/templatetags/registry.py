"""Template helpers of the registry pages: safe markdown for model cards, stage badges."""

from __future__ import annotations

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
# Existing CSS classes stand in for stages (none has its own).
STAGE_CLASSES = {
    "staging": "status-running",
    "production": "status-succeeded",
    "archived": "status-cancelled",
}


class _NoRawHtml(md.extensions.Extension):
    """Raw HTML in a card is shown as text: python-markdown passes it through by default."""

    def extendMarkdown(self, parser: md.Markdown) -> None:
        parser.preprocessors.deregister("html_block")
        parser.inlinePatterns.deregister("html")


def render_markdown(text: str) -> str:
    html = md.markdown(text or "", extensions=["tables", "fenced_code", "sane_lists", _NoRawHtml()])
    # nh3 is the real guard (tags, attributes, URL schemes); the extension only makes raw HTML
    # readable instead of silently dropped.
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@register.filter
def markdown_safe(text: str) -> SafeString:
    return mark_safe(render_markdown(text))  # noqa: S308 (sanitised by nh3 above)


@register.filter
def stage_class(stage: str) -> str:
    return STAGE_CLASSES.get(stage, "")


@register.filter
def get_item(mapping: dict, key: str):
    return (mapping or {}).get(key)
