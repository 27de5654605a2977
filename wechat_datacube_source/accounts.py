"""Many Official Accounts into one dataset: one pipeline per account, all in the same dataset.

Why one pipeline per account rather than one source looping over accounts: dlt keeps one
incremental cursor per resource, so accounts inside one resource would share a cursor and one
account's progress would filter out another's rows. A pipeline per account gives each its own
state (restored from the destination by pipeline name), its own retries and its own failure,
and maps one to one onto a scheduler's task group. The tables stay shared: every primary and
merge key starts with `app_id`, so one account's merges and refresh windows never touch
another's rows.

Accounts are listed in `.dlt/secrets.toml`:

    [[sources.wechat_datacube.accounts]]
    app_id = "wx0000000000000001"
    app_secret = "..."

Each entry holds the account's credentials and, optionally, any other setting of the source
for that account alone; the rest comes from `[sources.wechat_datacube]` as usual.
"""

import json
import re
from typing import Any, Collection, Dict, List, Mapping, Optional, Sequence

import dlt

from .errors import ConfigurationError
from .settings import ACCOUNTS_KEY, ACCOUNTS_SECTION, CONFIG_KEY, CONFIG_SECTION, PIPELINE_NAME

SINGLE_APP_ID_KEY = f"{CONFIG_KEY}.app_id"
SECRET_KEYS = ("app_secret", "access_token")
# AppIDs are "wx" and 16 hex digits; checked loosely, enough to make a safe pipeline name
_APP_ID = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def configured_accounts() -> Optional[List[Any]]:
    """The `accounts` list from config or secrets (None when there is none)."""
    not_a_list = ConfigurationError(
        "accounts",
        "is not a list of accounts",
        f"Write each account as a {ACCOUNTS_SECTION} table with app_id "
        "and app_secret (or access_token), or the environment variable as a JSON list",
    )
    # looked up as a secret (dlt's default for dlt.secrets): dlt's trace then keeps no value,
    # where a `list` lookup put every account's app secret into trace.pickle in clear text
    entries: Any = dlt.secrets.get(ACCOUNTS_KEY)
    if entries is None:
        return None
    if isinstance(entries, str):
        # an environment variable holds the list as JSON
        try:
            entries = json.loads(entries)
        except ValueError:
            # (the message never quotes the value, which holds secrets)
            raise not_a_list from None
    if not isinstance(entries, list):
        raise not_a_list
    single = dlt.config.get(SINGLE_APP_ID_KEY, str)
    # compared as account_settings compares AppIDs: trimmed, ignoring case
    listed = [
        entry["app_id"].strip().lower()
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("app_id"), str)
    ]
    if single and single.strip().lower() not in listed:
        # with a list, the single account would silently stop being loaded
        raise ConfigurationError(
            "app_id",
            f"{single} is set in {CONFIG_SECTION} beside the accounts list, which does not hold it",
            f"Add it to the list as an {ACCOUNTS_SECTION} entry, or remove it",
        )
    return entries


def account_settings(entries: Sequence[Any], allowed: Collection[str]) -> List[Dict[str, Any]]:
    """The source arguments of each account, checked before any network call.

    Both secret keys are always given (None when absent) so that a secret set once for a
    single account in `[sources.wechat_datacube]` is never sent on behalf of another.
    """
    if not entries:
        raise ConfigurationError(
            "accounts", "is empty", "List at least one account, or remove the key"
        )
    settings: List[Dict[str, Any]] = []
    seen: Dict[str, int] = {}
    for index, entry in enumerate(entries):
        where = f"accounts[{index}]"
        if not isinstance(entry, Mapping):
            raise ConfigurationError(
                where, f"{type(entry).__name__} is not a table", "Give app_id and app_secret"
            )
        unknown = sorted(set(entry) - set(allowed))
        if unknown:
            raise ConfigurationError(
                f"{where}.{unknown[0]}",
                "is not a setting of the source",
                f"Use only: {', '.join(sorted(allowed))}",
            )
        app_id = entry.get("app_id")
        if not isinstance(app_id, str) or not _APP_ID.match(app_id.strip()):
            raise ConfigurationError(
                f"{where}.app_id",
                "is not set" if not app_id else f"{app_id!r} is not an AppID",
                "Give the account's AppID (letters and digits, e.g. wx0000000000000001)",
            )
        app_id = app_id.strip()
        # pipeline names are lower case, so AppIDs that differ only in case would share one
        # pipeline and its state: the second would load only what the first left unfetched
        if app_id.lower() in seen:
            raise ConfigurationError(
                f"{where}.app_id",
                f"{app_id} is listed twice (also accounts[{seen[app_id.lower()]}], "
                "AppIDs are compared ignoring case)",
                "List each account once",
            )
        seen[app_id.lower()] = index
        settings.append({**{key: None for key in SECRET_KEYS}, **entry, "app_id": app_id})
    return settings


def pipeline_name_for(app_id: str, prefix: str = PIPELINE_NAME) -> str:
    """The pipeline (and so the state) of one account of many: stable across runs."""
    return f"{prefix}_{app_id.lower()}"
