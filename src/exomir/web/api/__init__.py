"""JSON API under ``/api/v1``: one thin router per capability."""
