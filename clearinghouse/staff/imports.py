"""Imports (admins): upload a file, read a dry-run report, then confirm to apply it.

The upload is kept in the instance folder under a random token with its options, so the
confirmed run applies exactly the file and options that were checked, through the same
pipeline as `clearinghouse ingest`.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.utils import secure_filename

from clearinghouse.extensions import db
from clearinghouse.staff import bp, role_required
from clearinghouse.staff.common import refresh_index
from clearinghouse.staff.forms import ConfirmImportForm, ImportForm
from clearinghouse.taxonomy import default_taxonomy
from indexer.pipeline import ingest_files
from indexer.readers import FormatError

log = logging.getLogger(__name__)
REJECTS_SHOWN = 1000


UPLOAD_TTL_SECONDS = 24 * 3600


def uploads_folder() -> Path:
    """Where checked uploads wait for confirmation (IMPORT_FOLDER, else instance/imports)."""
    return Path(
        current_app.config.get("IMPORT_FOLDER") or Path(current_app.instance_path) / "imports"
    )


def _forget_old_uploads() -> None:
    """Uploads checked but never confirmed are removed after a day."""
    folder = uploads_folder()
    if not folder.is_dir():
        return
    cutoff = time.time() - UPLOAD_TTL_SECONDS
    for upload in folder.iterdir():
        if upload.is_dir() and upload.stat().st_mtime < cutoff:
            shutil.rmtree(upload, ignore_errors=True)


def _upload_dir(token: str) -> Path | None:
    if not token or not all(c.isalnum() or c in "-_" for c in token):
        return None
    folder = uploads_folder() / token
    return folder if (folder / "options.json").is_file() else None


def _claim_upload(folder: Path) -> Path | None:
    """Take the upload for this confirmation (one rename): None when another click has it.

    A double-submitted confirm must apply the file once; the second click finds the upload
    gone and says "already applied" instead of importing the same rows at the same time.
    """
    claimed = folder.with_name(f"{folder.name}.applying-{secrets.token_hex(4)}")
    try:
        folder.rename(claimed)
    except FileNotFoundError:
        return None
    return claimed


def run_import(folder: Path, *, dry_run: bool) -> Any:
    """Run the ingest pipeline on an uploaded file; a FormatError is returned as a message."""
    options = json.loads((folder / "options.json").read_text())
    path = folder / options["filename"]
    try:
        return ingest_files(
            db.session,
            [path],
            fmt=options["fmt"],
            source=options["source"] or None,
            default_concerns=tuple(options["concerns"]),
            dry_run=dry_run,
            taxonomy=default_taxonomy(),
        ), options
    except FormatError as error:
        db.session.rollback()
        return str(error), options
    except (UnicodeError, ValueError) as error:
        db.session.rollback()
        return f"{options['filename']}: could not be read: {error}", options


@bp.route("/imports", methods=["GET", "POST"])
@role_required("admin")
def imports() -> Any:
    form = ImportForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("staff/imports/upload.html", form=form), status
    concern = (form.concern.data or "").strip()
    if concern and concern not in default_taxonomy():
        slug = default_taxonomy().lookup(concern)
        if slug is None:
            form.concern.errors = [f"{concern!r} is not a concern; use a slug like alcohol"]
            return render_template("staff/imports/upload.html", form=form), 400
        concern = slug
    _forget_old_uploads()
    token = secrets.token_urlsafe(16)
    folder = uploads_folder() / token
    folder.mkdir(parents=True)
    filename = secure_filename(form.file.data.filename or "") or "upload"
    form.file.data.save(folder / filename)
    options = {
        "fmt": form.fmt.data,
        "source": (form.source.data or "").strip(),
        "concerns": [concern] if concern else [],
        "filename": filename,
    }
    (folder / "options.json").write_text(json.dumps(options))
    # The upload is kept only for a confirmation that can apply something; else gone at once.
    try:
        report, _ = run_import(folder, dry_run=True)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    log.info("event=import_checked fmt=%s token=%s", options["fmt"], token[:6])
    if isinstance(report, str):
        shutil.rmtree(folder, ignore_errors=True)
        form.file.errors = [report]
        return render_template("staff/imports/upload.html", form=form), 400
    if not (report.added or report.updated):
        shutil.rmtree(folder, ignore_errors=True)
        return render_template(
            "staff/imports/report.html",
            report=report,
            options=options,
            dry_run=True,
            confirm=None,
            shown=REJECTS_SHOWN,
        )
    return render_template(
        "staff/imports/report.html",
        report=report,
        options=options,
        dry_run=True,
        confirm=ConfirmImportForm(token=token),
        shown=REJECTS_SHOWN,
    )


@bp.route("/imports/confirm", methods=["POST"])
@role_required("admin")
def confirm_import() -> Any:
    form = ConfirmImportForm()
    folder = _upload_dir(str(form.token.data or "")) if form.validate_on_submit() else None
    if folder is None:
        flash(
            "That upload is no longer here (already applied or expired); upload it again.", "error"
        )
        return redirect(url_for("staff.imports"))
    claimed = _claim_upload(folder)
    if claimed is None:
        flash("This import was already applied (or is being applied); nothing more to do.", "info")
        return redirect(url_for("staff.imports"))
    try:
        report, options = run_import(claimed, dry_run=False)
    finally:
        shutil.rmtree(claimed, ignore_errors=True)
    if isinstance(report, str):
        flash(report, "error")
        return redirect(url_for("staff.imports"))
    refresh_index()
    log.info("event=import_applied fmt=%s %s", options["fmt"], report.summary().replace(": ", " "))
    flash(f"Imported {options['filename']}: {report.summary()}.", "success")
    return render_template(
        "staff/imports/report.html",
        report=report,
        options=options,
        dry_run=False,
        confirm=None,
        shown=REJECTS_SHOWN,
    )


@bp.route("/imports/cancel", methods=["POST"])
@role_required("admin")
def cancel_import() -> Any:
    """Forget a checked upload now rather than in a day."""
    form = ConfirmImportForm()
    folder = _upload_dir(str(form.token.data or "")) if form.validate_on_submit() else None
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
        log.info("event=import_cancelled token=%s", folder.name[:6])
        flash("The import was cancelled; nothing was changed.", "info")
    return redirect(url_for("staff.imports"))
