"""Asset descriptions (Markdown written by any organization of the channel) rendered as HTML
that carries none of the author's HTML: markdown-it's CommonMark preset with raw HTML off
escapes every tag, and its link validator drops javascript:, vbscript: and data: links."""

from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

# Descriptions are shown in full, but a page is not the place for megabytes of text.
MAX_DESCRIPTION_CHARS = 200_000


def render_description(text: str) -> str:
    """Safe HTML of a Markdown description (cut at MAX_DESCRIPTION_CHARS)."""
    return _RENDERER.render(text[:MAX_DESCRIPTION_CHARS])
