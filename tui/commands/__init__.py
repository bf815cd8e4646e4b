"""One module per ``gradebench`` subcommand; each exposes ``register(subparsers)``.

Modules must import cheaply: heavy imports (textual, gpt4all) go inside the handler.
"""
