"""kreader: a fast terminal reader for articles, with a waiting-room kiosk mode."""

__version__ = "0.1.0"
