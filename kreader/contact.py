"""How to reach the clinic: the contact line, the disclaimer with 988, and the QR payload (no Textual)."""

from __future__ import annotations

import textwrap

from kreader.content import Article, Contact, Library
from kreader.i18n import N_, _

# Marked for the catalogue here, translated where shown (`_`), so they follow the interface's language.
CRISIS_LINE = N_("In a crisis in the US, call or text 988.")
SHORT_DISCLAIMER = N_("Not medical advice: ask a clinician. In a crisis (US), call or text 988.")
"""Used where the article's own disclaimer would take more than two lines."""
DEFAULT_DISCLAIMER = N_(
    "General information only, not medical advice. Talk to a qualified clinician."
)


def featured_article(library: Library, featured: str) -> Article | None:
    """The article the kiosk features: the one named in the settings, else the first."""
    return library.article(featured) or (library.articles[0] if library.articles else None)


def contact_info(library: Library, featured: str) -> tuple[Contact, str]:
    """Contact and disclaimer of the featured article (or of the first article that has a contact)."""
    article = featured_article(library, featured)
    candidates = [article] if article else []
    candidates += [a for a in library.articles if a is not article]
    for candidate in candidates:
        if candidate.contact:
            return candidate.contact, candidate.disclaimer or (
                article.disclaimer if article else ""
            )
    return Contact(), article.disclaimer if article else ""


def contact_lines(contact: Contact, disclaimer: str) -> tuple[str, str]:
    """The two lines always on screen: how to reach the clinic, and the disclaimer with 988."""
    reach = " · ".join(part for part in (contact.name, contact.address, contact.phone) if part)
    note = disclaimer or _(DEFAULT_DISCLAIMER)
    if "988" not in note:
        note = f"{note} {_(CRISIS_LINE)}"
    return reach or _("Ask at the front desk for help."), note


def balanced_lines(text: str, width: int) -> str:
    """``text`` wrapped to at most ``width`` columns in as few lines as possible, the lines as even as they can
    be, and never a last line of one word: "988." alone reads as an afterthought, and a visitor may miss it."""
    width = max(1, width)
    head, _, last = text.rpartition(" ")
    glued = f"{head}\xa0{last}" if head and len(head.split()[-1]) + len(last) < width else text
    lines = textwrap.wrap(glued, width)  # textwrap never breaks at a no-break space
    if len(lines) > 1:
        shortest = max(len(word) for word in glued.split(" "))
        for narrower in range(shortest, width + 1):
            even = textwrap.wrap(glued, narrower)
            if len(even) == len(lines):
                lines = even
                break
    return "\n".join(line.replace("\xa0", " ") for line in lines)


def contact_qr_data(contact: Contact) -> str:
    """A MECARD a phone camera offers to save as a contact: the clinic's name, phone, address, email and website.

    Short, so the code stays small (on the Linux console each module takes a row of the screen).
    """

    def escape(value: str) -> str:
        for char in "\\;,:":
            value = value.replace(char, "\\" + char)
        return value

    digits = "".join(c for c in contact.phone if c.isdigit() or c == "+")
    if digits and not digits.startswith("+") and len(digits) == 10:
        digits = "+1" + digits
    fields = [f"N:{escape(contact.name or 'Clinic')}"]
    if digits:
        fields.append(f"TEL:{digits}")
    if contact.address:
        fields.append(f"ADR:{escape(contact.address)}")
    if contact.email:
        fields.append(f"EMAIL:{escape(contact.email)}")
    if contact.url:
        fields.append(f"URL:{escape(contact.url)}")
    return "MECARD:" + ";".join(fields) + ";;"
