"""The web face of survatlas: a FastAPI JSON API with vector tiles and a MapLibre front end.

``create_app(db_path)`` builds the application; ``survatlas serve`` runs it with uvicorn on
127.0.0.1. Like the CLI, this package is a thin face over the library and the only other place
that turns :class:`survatlas.errors.SurvatlasError` into an error response (an HTTP status).
"""

from survatlas.web.app import create_app

__all__ = ["create_app"]
