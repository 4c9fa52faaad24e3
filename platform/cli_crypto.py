"""``crm generate-key`` and ``crm rotate-key``: keys for encryption at rest and their rotation."""

from __future__ import annotations

import click

from metamodel.crypto.keyring import generate_key
from metamodel.crypto.rotation import DEFAULT_BATCH, rotate_keys


@click.command("generate-key")
@click.option(
    "--id", "key_id", default="", help="Key id to print before the key, as CRM_ENCRYPTION_KEYS wants it."
)
def generate_key_command(key_id: str) -> None:
    """Print a new random 256-bit key (base64) for CRM_ENCRYPTION_KEYS or CRM_SEARCH_HASH_KEY."""
    click.echo(f"{key_id}:{generate_key()}" if key_id else generate_key())


@click.command("rotate-key")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1, max=100_000),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Values re-encrypted per transaction.",
)
def rotate_key_command(batch_size: int) -> None:
    """Re-encrypt every sensitive value under the current (first) key of CRM_ENCRYPTION_KEYS.

    Safe to stop and run again: each batch commits, and values already under the current key are
    skipped. Afterwards the older keys can be removed from CRM_ENCRYPTION_KEYS.
    """
    from crm_platform.cli import CliError, _svc  # the group module imports this one

    svc = _svc()  # starting the services also encrypts fields whose setting changed
    keyring = svc.metadata.sealing.keyring
    if keyring is None:
        raise CliError("encryption is off or no keys are configured; set CRM_ENCRYPTION_KEYS first")
    report = rotate_keys(svc.engine, keyring, batch_size)
    for label in sorted(report.current):
        click.echo(
            f"  {label}: {report.rewritten[label]} re-encrypted, {report.current[label]} under key '{keyring.current}'"
        )
    click.echo(
        f"{report.total} value(s) re-encrypted under key '{keyring.current}' in {len(report.current)} column(s)"
    )
