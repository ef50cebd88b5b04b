"""Build the sandbox and runner images with no registry: ``trustlab images build``.

The chain, each link cached by a content hash of what goes into it:

``trustlab-base``  Debian bootstrapped locally (debootstrap → ``docker import``), or the
                   image named by ``TRUSTLAB_IMAGE_BASE`` when a registry is at hand;
``trustlab-os``    + Debian's Python, a Java runtime, tini, the unprivileged user;
``trustlab-deps``  + the locked Python dependencies, from a wheelhouse built on the host
                   (the build itself needs no network and trusts no proxy CA);
``trustlab-deps-jupyter``  + JupyterLab and the zh-CN language pack;
``trustlab-runner`` / ``trustlab-sandbox``  + the trustlab wheel and configuration.

An image whose ``org.trustlab.context-hash`` label already matches what would be built is
not rebuilt at all, so ``make images`` with nothing changed returns in well under a second.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hub.errors import TrustlabError

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "images"
LABEL_HASH = "org.trustlab.context-hash"
LABEL_VERSION = "org.trustlab.version"
Log = Callable[[str], None]


def cache_dir() -> Path:
    return Path(os.environ.get("TRUSTLAB_CACHE") or Path.home() / ".cache" / "trustlab")


def docker_client():  # -> docker.DockerClient
    import docker

    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # docker raises several unrelated types here
        raise TrustlabError(
            f"no Docker engine is reachable ({exc.__class__.__name__}); run `make bootstrap` "
            "(starts Debian's dockerd when you are root) or set DOCKER_HOST"
        ) from exc
    return client


def _version() -> str:
    from importlib.metadata import version

    return version("trustlab")


@dataclass
class Step:
    """One image: a Dockerfile, files for its context, build args, and its content hash."""

    name: str
    dockerfile: Path
    files: dict[str, Path] = field(default_factory=dict)  # name in context -> host path
    file_digests: dict[str, str] = field(default_factory=dict)  # cheap stand-ins for big dirs
    buildargs: dict[str, str] = field(default_factory=dict)

    def context_hash(self) -> str:
        h = hashlib.sha256()
        h.update(self.dockerfile.read_bytes())
        for key in sorted(self.buildargs):
            h.update(f"arg {key}={self.buildargs[key]}\n".encode())
        for key in sorted(self.files):
            digest = self.file_digests.get(key) or _file_digest(self.files[key])
            h.update(f"file {key}={digest}\n".encode())
        return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ImageBuilder:
    def __init__(self, client, settings, log: Log | None = None, force: bool = False) -> None:
        self.client = client
        self.settings = settings
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.force = force

    # --- helpers -------------------------------------------------------------------------

    def _existing(self, tag: str):
        import docker.errors

        try:
            return self.client.images.get(tag)
        except docker.errors.ImageNotFound:
            return None

    def build(self, step: Step, tag_base: str) -> str:
        """Build ``step`` unless an image with its context hash exists; return the image id."""
        digest = step.context_hash()
        tag = f"{tag_base}:{digest[:16]}"
        image = None if self.force else self._existing(tag)
        if image is not None and image.labels.get(LABEL_HASH) == digest:
            self.log(f"[{step.name}] up to date ({tag})")
            image.tag(tag_base, "latest")
            return image.id
        self.log(f"[{step.name}] building {tag}")
        with tempfile.TemporaryDirectory(prefix=f"trustlab-{step.name}-") as tmp:
            context = Path(tmp)
            shutil.copy(step.dockerfile, context / "Dockerfile")
            for name, src in step.files.items():
                dst = context / name
                if src.is_dir():
                    shutil.copytree(src, dst, copy_function=_link_or_copy)
                else:
                    _link_or_copy(src, dst)
            labels = {LABEL_HASH: digest, LABEL_VERSION: _version()}
            tail: list[str] = []
            try:
                for chunk in self.client.api.build(
                    path=str(context),
                    tag=tag,
                    buildargs=step.buildargs,
                    labels=labels,
                    rm=True,
                    forcerm=True,
                    decode=True,
                    pull=False,
                ):
                    if "stream" in chunk:
                        line = chunk["stream"].rstrip()
                        if line:
                            tail = [*tail[-30:], line]
                            if line.startswith("Step ") or "error" in line.lower():
                                self.log(f"[{step.name}] {line}")
                    if "error" in chunk:
                        raise TrustlabError(
                            f"building {step.name} failed: {chunk['error'].strip()}; last "
                            f"output:\n" + "\n".join(tail[-15:])
                        )
            except TrustlabError:
                raise
            except Exception as exc:
                raise TrustlabError(f"building {step.name} failed: {exc}") from exc
        image = self.client.images.get(tag)
        image.tag(tag_base, "latest")
        self._prune(tag_base, image.id)
        return image.id

    def _prune(self, repository: str, keep: str) -> None:
        """Drop older builds of ``repository`` (never one a container still uses)."""
        import docker.errors

        for old in self.client.images.list(name=repository):
            if old.id == keep or any(PINNED in tag for tag in old.tags):
                continue  # a deployment runs on a pinned image until it is retired
            for tag in old.tags:
                # an image a container still uses is kept until the next build
                with contextlib.suppress(docker.errors.APIError):
                    self.client.images.remove(tag, noprune=False)

    # --- the chain -----------------------------------------------------------------------

    def base(self) -> str:
        configured = self.settings.image_base
        if configured:
            image = self._existing(configured)
            if image is None:
                self.log(f"[base] pulling {configured}")
                try:
                    image = self.client.images.pull(configured)
                except Exception as exc:
                    raise TrustlabError(
                        f"base image {configured} (TRUSTLAB_IMAGE_BASE) is neither local nor "
                        f"pullable ({exc.__class__.__name__}); unset it to bootstrap Debian "
                        "locally with debootstrap"
                    ) from exc
            return image.id
        suite, mirror = self.settings.debian_suite, self.settings.debian_mirror
        digest = hashlib.sha256(f"debootstrap minbase {suite} {mirror} v1".encode()).hexdigest()
        tag = f"trustlab-base:{suite}-{digest[:12]}"
        image = self._existing(tag)
        if image is not None:
            self.log(f"[base] up to date ({tag})")
            return image.id
        return self._debootstrap(suite, mirror, tag)

    def _debootstrap(self, suite: str, mirror: str, tag: str) -> str:
        exe = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        if not Path(exe).exists():
            raise TrustlabError(
                "no registry base image configured and debootstrap is missing; run "
                "`python3 scripts/bootstrap.py debootstrap` (or apt-get install debootstrap)"
            )
        if os.geteuid() != 0:
            raise TrustlabError(
                "bootstrapping the base image with debootstrap needs root; run `make images` "
                "as root once, or set TRUSTLAB_IMAGE_BASE to a local Debian 12 image"
            )
        work = cache_dir() / "tmp"
        work.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=work, prefix="rootfs-") as tmp:
            rootfs = Path(tmp) / "rootfs"
            self.log(f"[base] debootstrap --variant=minbase {suite} ({mirror})")
            result = subprocess.run(
                [exe, "--variant=minbase", suite, str(rootfs), mirror],
                capture_output=True,
                text=True,
            )
            if result.returncode != 0:
                raise TrustlabError(
                    f"debootstrap failed ({result.returncode}): "
                    f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}; check that "
                    f"{mirror} is reachable or set TRUSTLAB_DEBIAN_MIRROR"
                )
            for junk in ("usr/share/doc", "usr/share/man", "usr/share/info", "var/cache/apt"):
                shutil.rmtree(rootfs / junk, ignore_errors=True)
            locales = rootfs / "usr/share/locale"
            if locales.exists():
                for entry in locales.iterdir():
                    shutil.rmtree(entry, ignore_errors=True)
            for lists in (rootfs / "var/lib/apt/lists").glob("*_Packages"):
                lists.unlink()
            self.log(f"[base] importing {tag}")
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                tar.add(rootfs, arcname=".")
            buf.seek(0)
            repo, _, version = tag.partition(":")
            self.client.api.import_image_from_data(
                buf.getvalue(),
                repository=repo,
                tag=version,
                changes=['CMD ["/bin/bash"]', "ENV LANG=C.UTF-8"],
            )
        return self.client.images.get(tag).id

    def target_environment(self, image_id: str) -> dict[str, str]:
        """PEP 508 marker values of the image's Python (e.g. 3.11.2, not the host's 3.11.x)."""
        import json

        cached = cache_dir() / "tmp" / f"markers-{image_id.removeprefix('sha256:')[:16]}.json"
        if cached.exists():
            return json.loads(cached.read_text())

        script = (
            "import json,os,platform,sys;"
            "print(json.dumps({'implementation_name':sys.implementation.name,"
            "'implementation_version':platform.python_version(),'os_name':os.name,"
            "'platform_machine':platform.machine(),'platform_release':platform.release(),"
            "'platform_system':platform.system(),'platform_version':platform.version(),"
            "'python_full_version':platform.python_version(),"
            "'platform_python_implementation':platform.python_implementation(),"
            "'python_version':'.'.join(platform.python_version_tuple()[:2]),"
            "'sys_platform':sys.platform}))"
        )
        out = self.client.containers.run(
            image_id, ["python3", "-c", script], network_mode="none", remove=True
        )
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(out.decode())
        return json.loads(out)

    def _deps(self, name: str, requirements_text: str, os_id: str, from_id: str) -> str:
        """Install ``requirements_text`` from a host-built wheelhouse on top of ``from_id``."""
        wheels = wheelhouse(requirements_text, self.log)
        return self.build(
            Step(
                name,
                IMAGES / "deps" / "Dockerfile",
                files={"wheels": wheels, "requirements.txt": _write(wheels, requirements_text)},
                file_digests={"wheels": _text_digest(requirements_text)},
                buildargs={"OS_IMAGE": os_id, "FROM_IMAGE": from_id},
            ),
            f"trustlab-{name}",
        )

    def all(self) -> dict[str, str]:
        """Build the whole chain; return ``{image: id}`` of the runner and sandbox."""
        base = self.base()
        os_id = self.build(
            Step("os", IMAGES / "os.Dockerfile", buildargs={"BASE": base}), "trustlab-os"
        )
        runtime_req, jupyter_req = requirements(self.target_environment(os_id))
        deps = self._deps("deps", runtime_req, os_id, os_id)
        deps_jupyter = self._deps("deps-jupyter", jupyter_req, os_id, deps)
        wheel = trustlab_wheel()
        wheel_files = {"wheel": wheel.parent}
        wheel_digest = {"wheel": f"{wheel.name}:{_file_digest(wheel)}"}
        runner_tag, sandbox_tag = self.settings.runner_image, self.settings.sandbox_image
        runner = self.build(
            Step(
                "runner",
                IMAGES / "runner" / "Dockerfile",
                files=wheel_files,
                file_digests=wheel_digest,
                buildargs={"DEPS_IMAGE": deps},
            ),
            runner_tag.rpartition(":")[0] or runner_tag,
        )
        sandbox = self.build(
            Step(
                "sandbox",
                IMAGES / "sandbox" / "Dockerfile",
                files={
                    **wheel_files,
                    "jupyter_server_config.py": IMAGES / "sandbox" / "jupyter_server_config.py",
                },
                file_digests=wheel_digest,
                buildargs={"DEPS_IMAGE": deps_jupyter},
            ),
            sandbox_tag.rpartition(":")[0] or sandbox_tag,
        )
        return {runner_tag: runner, sandbox_tag: sandbox}


def _link_or_copy(src, dst) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _write(wheels: Path, text: str) -> Path:
    path = wheels.parent / f"{wheels.name}.requirements.txt"
    path.write_text(text)
    return path


def _uv() -> str:
    exe = cache_dir() / "tools" / "bin" / "uv"
    if exe.exists():
        return str(exe)
    found = shutil.which("uv")
    if not found:
        raise TrustlabError("uv not found; run `python3 scripts/bootstrap.py uv`")
    return found


def _export(environment: dict[str, str], *groups: str) -> list[str]:
    cmd = [_uv(), "export", "--frozen", "--no-default-groups", "--no-emit-project"]
    cmd += ["--no-hashes", "--no-header", "--no-annotate", "--format", "requirements-txt"]
    for group in groups:
        cmd += ["--group", group]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise TrustlabError(f"uv export failed: {out.stderr.strip()}")
    return for_environment(out.stdout.splitlines(), environment)


def for_environment(lines: list[str], environment: dict[str, str]) -> list[str]:
    """Pinned requirement lines whose markers hold in ``environment``, markers dropped.

    The wheelhouse is built on the host, whose Python may differ in patch version from the
    image's (markers such as ``python_full_version < '3.11.5'`` do occur in the lock)."""
    from packaging.markers import Marker

    kept = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        spec, _, marker = line.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        kept.append(spec.strip())
    return kept


def requirements(environment: dict[str, str]) -> tuple[str, str]:
    """The locked runtime requirements, and what the sandbox adds on top (from uv.lock)."""
    runtime = _export(environment)
    jupyter = [line for line in _export(environment, "sandbox-image") if line not in set(runtime)]
    return "\n".join(runtime) + "\n", "\n".join(jupyter) + "\n"


def wheelhouse(requirements_text: str, log: Log) -> Path:
    """Wheels for ``requirements_text``, built once on the host and kept in the cache.

    Built with the host's pip (which already trusts the site's proxy CA) for this machine's
    CPython 3.11 on glibc — the same ABI as the image's Debian 12 Python.
    """
    digest = _text_digest(requirements_text)[:16]
    target = cache_dir() / "wheelhouse" / digest
    if (target / ".complete").exists():
        return target
    target.mkdir(parents=True, exist_ok=True)
    req = target.parent / f"{digest}.in.txt"
    req.write_text(requirements_text)
    pip_python = cache_dir() / "tools" / "bin" / "python"
    if not pip_python.exists():
        pip_python = Path(sys.executable)
    log(f"[wheels] building a wheelhouse for {requirements_text.count(chr(10))} requirements")
    result = subprocess.run(
        [str(pip_python), "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir",
         str(target), "-r", str(req)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise TrustlabError(
            "building the wheelhouse failed: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        )
    (target / ".complete").write_text(requirements_text)
    return target


def trustlab_wheel() -> Path:
    out = cache_dir() / "tmp" / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = subprocess.run(
        [_uv(), "build", "--wheel", "--quiet", "--out-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"},
    )
    if result.returncode != 0:
        raise TrustlabError(f"building the trustlab wheel failed: {result.stderr.strip()}")
    wheels = sorted(out.glob("trustlab-*.whl"))
    if not wheels:
        raise TrustlabError(f"uv build produced no wheel in {out}")
    return wheels[-1]


PINNED = ":pinned-"  # tag of an image a deployment is frozen to (kept by the pruner)


def pin_image(client, tag: str) -> tuple[str, str]:
    """Tag the image ``tag`` names now as ``<repo>:pinned-<id12>``; (pinned tag, image id).

    A deployment records both: it runs on that image by id, and a pinned tag that no
    longer names that id means someone swapped the image.
    """
    digest = image_digest(client, tag)
    repository = tag.rpartition(":")[0] if ":" in tag.rsplit("/", 1)[-1] else tag
    pinned = f"{repository}{PINNED}{digest.removeprefix('sha256:')[:12]}"
    client.images.get(digest).tag(pinned.rpartition(":")[0], pinned.rpartition(":")[2])
    return pinned, digest


def image_digest(client, tag: str) -> str:
    """The image id (``sha256:…``) of ``tag``; registry-less images have no RepoDigest."""
    import docker.errors

    try:
        return client.images.get(tag).id
    except docker.errors.ImageNotFound as exc:
        raise TrustlabError(f"image {tag} not found; run `make images`") from exc
