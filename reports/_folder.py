"""The output folder of a report: written whole, replaced whole, never mixed with another.

:func:`~netmarl_verify.reports.render_all` writes a manifest, ``netmarl-verify-manifest.json``,
listing every file of the report it wrote. Rendering into a folder:

- that does not exist or is empty: the report is written;
- that holds a manifest (an earlier report): exactly the files the manifest lists are removed
  first (and the folders left empty by that), so no figure of the earlier run stays beside the
  new ones and the index describes only the new run; files the manifest does not list (the
  user's own) are left alone;
- that holds anything else and no manifest: :class:`ReportFolderError`, naming the folder and
  what is in it. Guessing which files are an old report's would risk deleting the user's.

The manifest is written even when rendering fails half-way (listing the files written so far,
``"complete": false``), so a failed run can be replaced by the next one too.
"""

import datetime
import json
from pathlib import Path

from netmarl_verify.envs._errors import NetmarlError

__all__ = ["MANIFEST", "ReportFolderError", "check_report_folder", "clear_report_folder", "write_manifest"]

#: File name of the manifest in the output folder.
MANIFEST = "netmarl-verify-manifest.json"
_FORMAT = 1


class ReportFolderError(NetmarlError):
    """The output folder holds files that are not a report written by netmarl-verify."""


def _listing(folder, limit=8):
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir())
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} entries)" if len(names) > limit else "")


def _read_manifest(folder):
    path = folder / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if data.get("tool") != "netmarl-verify" or not all(isinstance(f, str) for f in files):
            raise ValueError("not a netmarl-verify manifest")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ReportFolderError(f"{path} cannot be read as the manifest of a netmarl-verify report ({exc}); "
                                f"remove the folder {folder} or choose another --out folder") from None
    return files


def check_report_folder(out_dir):
    """Raise :class:`ReportFolderError` unless a report may be written into `out_dir`.

    A report may be written into a missing or empty folder, or one holding the manifest of an
    earlier report (which it then replaces). Call it before a long run to fail at once.

    Returns
    -------
    list of str or None
        The files of the earlier report (relative paths), None when there is none.
    """
    folder = Path(out_dir)
    if not folder.exists():
        return None
    if not folder.is_dir():
        raise ReportFolderError(f"cannot write the report into {folder}: it is a file, not a folder")
    if (folder / MANIFEST).is_file():
        return _read_manifest(folder)
    if any(folder.iterdir()):
        raise ReportFolderError(
            f"refusing to write the report into {folder}: the folder is not empty and holds no "
            f"{MANIFEST} of an earlier netmarl-verify report (it contains {_listing(folder)}); "
            "choose a new or empty folder, or remove the files (reports written before manifests "
            "existed must be removed by hand)")
    return None


def clear_report_folder(out_dir):
    """Remove the files of the earlier report in `out_dir` (after :func:`check_report_folder`).

    Returns
    -------
    list of Path
        The files removed.
    """
    folder = Path(out_dir)
    listed = check_report_folder(folder)
    if listed is None:
        return []
    root = folder.resolve()
    removed, parents = [], set()
    for name in listed:
        path = (folder / name)
        try:
            inside = path.resolve().relative_to(root)
        except ValueError:  # a manifest never lists files outside its folder: do not follow it there
            continue
        if inside.parts and path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
            parents.update(p for p in path.parents if p != folder and folder in p.parents)
    (folder / MANIFEST).unlink()
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        try:
            parent.rmdir()  # only when empty: the user's own files keep their folder
        except OSError:
            pass
    return removed


def write_manifest(out_dir, files, complete, target=None):
    """Write the manifest of the report in `out_dir` listing `files` (paths under it)."""
    folder = Path(out_dir)
    root = folder.resolve()
    names = sorted({Path(f).resolve().relative_to(root).as_posix() for f in files})
    data = {
        "tool": "netmarl-verify",
        "format": _FORMAT,
        "complete": bool(complete),
        "target": target,
        "written (UTC)": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "files": names,
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    return path
