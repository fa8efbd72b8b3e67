"""`make spec`: download Sellsy's latest OpenAPI file for the contract tests (online users only).

The tests and the sandbox read the file named by ``SELLSY_OPENAPI`` (default: the v2.264.0 copy kept
beside the repository). This fetches the current one into ``.local/sellsy-openapi.yaml`` and says how
to use it. Nothing here runs in CI: CI has no network but the package registries.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import httpx
import yaml

from infra.template_tools import REPO_ROOT

LATEST_URL = "https://api.sellsy.com/doc/v2/dist/sellsy.v2.latest.yaml"
DESTINATION = REPO_ROOT / ".local" / "sellsy-openapi.yaml"
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecError(RuntimeError):
    """The download failed or did not return an OpenAPI document."""


def check_openapi(text: str) -> str:
    """Return the document's ``info.version`` or raise SpecError when it is not an OpenAPI 3 file."""
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        raise SpecError(f"not YAML: {error}") from error
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise SpecError("not an OpenAPI 3 document (no 'openapi: 3.x' field)")
    if not document.get("paths"):
        raise SpecError("the document has no paths")
    return str(document.get("info", {}).get("version", "unknown"))


def download(url: str = LATEST_URL, destination: Path = DESTINATION, *, timeout: float = 60.0) -> str:
    """Fetch, check and atomically store the spec; return its version."""
    try:
        response = httpx.get(url, timeout=httpx.Timeout(timeout, connect=10.0), follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPStatusError as error:
        raise SpecError(f"{url} answered HTTP {error.response.status_code}") from error
    except httpx.TransportError as error:
        raise SpecError(
            f"cannot reach {url} ({type(error).__name__}): offline? The tests keep using the bundled copy."
        ) from error
    version = check_openapi(response.text)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=destination.parent, delete=False) as handle:
        handle.write(response.text)
    Path(handle.name).replace(destination)
    return version


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Download Sellsy's latest OpenAPI file.")
    parser.add_argument("--url", default=LATEST_URL)
    parser.add_argument("--output", type=Path, default=DESTINATION)
    args = parser.parse_args(argv)
    try:
        version = download(args.url, args.output)
    except SpecError as error:
        sys.stderr.write(f"make spec: {error}\n")
        return 1
    sys.stderr.write(
        f"Saved Sellsy OpenAPI v{version} to {args.output}.\n"
        f"Use it for the contract tests and the sandbox with:\n"
        f"    export SELLSY_OPENAPI={args.output}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
