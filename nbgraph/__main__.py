"""``python -m nbgraph export|publish NOTEBOOK.ipynb ...``: see ``nbgraph.export``."""

import sys

USAGE = """usage: python -m nbgraph export NOTEBOOK.ipynb [NOTEBOOK.ipynb ...] [-o OUT] [--execute]
       python -m nbgraph publish NOTEBOOK.ipynb [NOTEBOOK.ipynb ...] [-o OUT.ipynb]

commands:
  export   write lessons as HTML pages whose Steppers step offline
  publish  run notebooks and save them for static views (GitHub, nbviewer, untrusted Jupyter):
           every drawing a picture, every Stepper stepping once the notebook is trusted"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] == "export":
        from .export import main as export_main
        return export_main(argv[1:])
    if argv[0] == "publish":
        from .export import publish_main
        return publish_main(argv[1:])
    print(f"python -m nbgraph: unknown command {argv[0]!r}\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
