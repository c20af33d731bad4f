"""``python -m facenet_vae.explore`` (console script ``facenet-vae-explore``): serve the face explorer page.

    python -m facenet_vae.explore                          # the shipped model, http://127.0.0.1:8000/
    python -m facenet_vae.explore --model=RUN --port=8080  # a run folder or model.keras
    python -m facenet_vae.explore --host=0.0.0.0           # reachable from the network (warns loudly)

The port is bound before the model loads, so a taken port fails at once. Ctrl-C stops the server
and exits with 0. Errors are one line (``console.fail``): 2 for a wrong command line, 1 otherwise.
"""
import os
import sys

from absl import flags

from facenet_vae.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, fail, run_tool
from facenet_vae.explore.options import ExploreOptions
from facenet_vae.settings import check_choices, define_flags, from_flags, grouped_help

TOOL = "explore"
MAX_PORT = 65535
USAGE = ("usage: python -m facenet_vae.explore [--model=RUN_FOLDER|model.keras] [--attribute_vectors_file=H5] "
         "[--host=127.0.0.1] [--port=8000] [--verbose]")


def parse_options(argv):
    """Return the ``ExploreOptions`` of a command line (``argv[0]`` is the program); flags.Error or
    ValueError naming the flag for a wrong one."""
    flag_values = flags.FlagValues()
    define_flags(ExploreOptions, flag_values, module_name="facenet_vae.explore")
    rest = flag_values(list(argv))
    if len(rest) > 1:
        raise flags.Error(f"unexpected arguments {' '.join(rest[1:])}; {USAGE}")
    options = check_choices(from_flags(ExploreOptions, flag_values))
    if options.port > MAX_PORT:
        raise ValueError(f"--port must be at most {MAX_PORT}, got {options.port}")
    return options


def network_warning(server_url, host):
    """Return the loud warning printed when the server listens beyond this machine."""
    rule = "!" * 78
    return (f"{rule}\nexplore: WARNING: listening on {host}: this page is REACHABLE FROM THE NETWORK by anyone who "
            f"can reach this machine ({server_url} here), with no password. Anyone can upload photos to it. "
            f"Leave out --host to keep it on 127.0.0.1.\n{rule}")


def _help():
    flag_values = flags.FlagValues()
    define_flags(ExploreOptions, flag_values, module_name="facenet_vae.explore")
    return grouped_help(flag_values, f"{__doc__.strip()}\n\n{USAGE}")


def parse_command_line(argv):
    """Return the ``ExploreOptions`` of ``argv``; ``--help`` or a wrong command line: printed, then SystemExit."""
    if any(arg in ("-h", "--help", "--helpfull", "-help") for arg in argv[1:]):
        print(_help(), end="")
        raise SystemExit(EXIT_OK)
    try:
        return parse_options(argv)
    except (flags.Error, ValueError) as error:
        raise SystemExit(fail(TOOL, error, EXIT_USAGE)) from None


def missing_model(options):
    """Return a one-line problem when ``--model`` does not exist (said before TensorFlow loads)."""
    if options.model and not os.path.exists(os.path.expanduser(options.model)):
        return f"--model={options.model} does not exist (expected a training run folder or a .keras file)"
    return None


def serve(options):
    """Bind the port, load the model and serve until Ctrl-C; returns the exit status (EXIT_OK after Ctrl-C)."""
    try:
        from facenet_vae.explore.backend import load_explorer  # noqa: PLC0415 (needs the export extra)
    except ImportError as error:  # tf2onnx and onnx come with the export extra
        return fail(TOOL, f"the explorer exports the decoder to ONNX and needs the export extra ({error}): "
                          f"pip install -e '.[export]'")
    from facenet_vae.explore.server import ExplorerServer  # noqa: PLC0415 (TensorFlow, after the flags)
    from facenet_vae.generation.loading import shipped_model_path  # noqa: PLC0415
    if not options.model and not os.path.isfile(shipped_model_path()):
        return fail(TOOL, f"no --model given and the shipped model {shipped_model_path()} is missing: pass "
                          f"--model=<training run folder | model.keras>, or use a source checkout, which ships it")
    try:
        server = ExplorerServer((options.host, options.port), verbose=options.verbose)
    except OSError as error:
        return fail(TOOL, f"cannot listen on {options.host} port {options.port}: {error.strerror or error}")
    if not options.is_local():
        print(network_warning(server.url(), options.host), file=sys.stderr, flush=True)
    try:
        server.explorer = load_explorer(options.model, options.attribute_vectors_file)
    except (OSError, ValueError) as error:
        server.server_close()
        return fail(TOOL, error, EXIT_FAILED)
    explorer = server.explorer
    sliders = sum(slider["vector"] is not None for slider in explorer.sliders)
    print(f"explore: {explorer.vae.source}; {sliders} attribute sliders"
          f"{' from ' + explorer.attribute_vectors_file if explorer.attribute_vectors_file else ''}", flush=True)
    print(f"explore: open {server.url()} in a browser (Ctrl-C stops)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("explore: stopped", flush=True)
    finally:
        server.server_close()
    return EXIT_OK


def main(argv=None):
    """Serve the explorer until Ctrl-C; returns the exit status (EXIT_OK after Ctrl-C)."""
    return run_tool(TOOL, argv, parse_command_line, serve, check=missing_model)


if __name__ == "__main__":
    sys.exit(main())
