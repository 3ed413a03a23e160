"""The redirects demo: temporary and permanent redirects, RedirectHandler rewriting, chains, an open-redirect guard."""
