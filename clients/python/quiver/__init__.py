"""Python client for the Quiver vector database (standard library only).

The methods mirror Epsilla's ``pyepsilla.vectordb.Client`` so code written for
Epsilla runs against Quiver with a changed import.
"""

from .client import Client, QuiverError

__all__ = ["Client", "QuiverError"]
