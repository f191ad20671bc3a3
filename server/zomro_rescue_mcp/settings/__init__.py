"""Settings and the accounts a server serves: read once, at start, from the environment and the accounts file;
never a secret in a repr or a sentence.
"""

from .accounts import Accounts, load_accounts
from .config import DEFAULT_API_URL, ApprovalMode, Settings, parse_instance_id

__all__ = ["DEFAULT_API_URL", "Accounts", "ApprovalMode", "Settings", "load_accounts", "parse_instance_id"]
