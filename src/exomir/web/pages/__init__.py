"""HTML pages: the same data functions as the API, rendered with the templates."""
