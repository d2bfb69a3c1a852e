"""Extensions, created unbound here and initialised in create_app: the
database, migrations, CSRF, log-in sessions and rate limits. The bottom of
the house: this module imports nothing of the app."""
from flask import g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

# Stable constraint names, so Alembic can alter them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please log in to continue."
login_manager.login_message_category = "info"


def _rate_key() -> str:
    """Limits count per user (the API token's or the session's), else per address."""
    user = g.get("api_user")
    if user is None and current_user.is_authenticated:
        user = current_user
    return f"user:{user.id}" if user is not None else f"ip:{get_remote_address()}"


limiter = Limiter(key_func=_rate_key, default_limits=[], headers_enabled=True)
