"""`safetyrules lsp`: the language server for editors, over standard input and output (docs/authoring.md);
needs the `lsp` extra (pygls)."""

from __future__ import annotations

import click

from safetyrules.cli.common import Exit, fail, run_limits


@click.command("lsp")
@click.option("--stdio", is_flag=True, help="Speak over standard input and output (the default and only way).")
def lsp_command(stdio: bool) -> None:
    """Serve the Language Server Protocol for `.policy` files: diagnostics with codes and did-you-mean quick
    fixes, hover, go to definition, references, completion, document symbols and formatting. An editor starts
    it (editors/vscode does); it is not run by hand."""
    try:
        from safetyrules.lsp.server import main
    except ImportError as e:
        fail(f"the language server needs the `lsp` extra ({e.name} is missing): pip install 'safetyrules[lsp]' "
             "/ 需要安装 lsp 扩展", Exit.USAGE)
        return
    main(run_limits())
