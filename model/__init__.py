"""sangkien core library: normalise Vietnamese initiative texts, embed, classify, deduplicate.

This package never imports ``service`` or ``training``; they import it.
"""

__version__ = "0.1.0"
