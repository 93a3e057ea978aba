"""kreader's own high-contrast theme, the short cycle of themes ``t`` steps through, and layout palettes."""

from __future__ import annotations

from textual.color import Color
from textual.theme import Theme

from kreader.layout import Palette

CONTRAST_THEME = Theme(
    name="kreader-contrast",
    primary="#FFD700",
    secondary="#00FFFF",
    accent="#FFFF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#1A1A1A",
    success="#00FF66",
    warning="#FFD700",
    error="#FF6B6B",
    dark=True,
    variables={
        "footer-key-foreground": "#FFD700",
        "block-cursor-background": "#FFD700",
        "block-cursor-foreground": "#000000",
        "text-muted": "#E0E0E0",
    },
)
"""Yellow and white on black: body text is 21:1, the accent 19.6:1 (WCAG AA asks 4.5:1)."""

THEME_CYCLE = ("textual-dark", "textual-light", "kreader-contrast")
"""What ``t`` cycles through: dark, light, high contrast."""

DEFAULT_THEME = "textual-dark"


def _rich_name(value: str | None, fallback: str) -> str:
    """A colour Rich understands, from a Textual theme value (hex, named or ANSI)."""
    try:
        color = Color.parse(value or fallback)
    except Exception:
        color = Color.parse(fallback)
    name = color.rich_color.name
    if name != "default":
        return name
    # The ANSI themes' colours are "ansi_default" and the like: Rich knows them only by its own names.
    try:
        return Color.parse(fallback).rich_color.name
    except Exception:
        return "default"


def palette_for(theme: Theme, variables: dict[str, str], *, monochrome: bool = False) -> Palette:
    """The colours for laying out text in ``theme`` (``variables`` are the app's CSS variables).

    With ``monochrome`` (``NO_COLOR``: Textual greys every colour by its luminance) headings and links take
    the text colour, bold or underlined: the theme's blue primary would turn into a grey of about 3:1 on the
    background, below WCAG's 4.5:1.
    """
    foreground = _rich_name(variables.get("foreground"), "#E0E0E0" if theme.dark else "#202020")
    background = variables.get("background") or ("#121212" if theme.dark else "#FFFFFF")
    try:
        muted = _rich_name(
            Color.parse(foreground).blend(Color.parse(background), 0.45).hex, foreground
        )
    except Exception:
        muted = foreground
    if monochrome:
        return Palette(
            name=f"{theme.name}-monochrome",
            dark=theme.dark,
            foreground=foreground,
            primary=foreground,
            secondary=foreground,
            accent=foreground,
            surface=_rich_name(variables.get("surface"), background),
            muted=muted,
        )
    return Palette(
        name=theme.name,
        dark=theme.dark,
        foreground=foreground,
        primary=_rich_name(variables.get("primary"), foreground),
        secondary=_rich_name(variables.get("secondary"), foreground),
        accent=_rich_name(variables.get("accent"), foreground),
        surface=_rich_name(variables.get("surface"), background),
        muted=muted,
    )


def relative_luminance(color: Color) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast_ratio(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def theme_names() -> list[str]:
    """Every theme ``--theme`` accepts: Textual's built-in ones and ours."""
    from textual.theme import BUILTIN_THEMES

    return sorted([*BUILTIN_THEMES, CONTRAST_THEME.name])


def known_theme(name: str) -> bool:
    """Whether ``name`` is a theme kreader can show."""
    return name in theme_names()
