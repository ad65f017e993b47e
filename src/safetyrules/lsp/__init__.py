"""The language server (`safetyrules lsp`): editor support over the one front-end pipeline.

`analysis` is what the server knows of a policy — the pipeline's compilation of the policy folder with the
editor's texts, and an index of where each param, definition, rule, field, enumeration, code and catalogue id
is declared and used — and needs no LSP library. `server` speaks the Language Server Protocol with pygls (the
`lsp` extra); nothing else imports it, so `import safetyrules` never imports pygls.
"""
