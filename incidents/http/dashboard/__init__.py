"""The desk's dashboard: server-rendered pages, htmx, live updates, forms."""
