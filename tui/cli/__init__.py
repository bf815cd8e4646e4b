"""The ``gradebench`` command line: ``main.py`` parses the global options and dispatches; one
module per subcommand exposes ``register(subparsers)``.

Modules must import cheaply: heavy imports (textual, gpt4all) go inside the handler."""
