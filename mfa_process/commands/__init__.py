"""One module per command: ``DESCRIPTION``, ``EPILOG``, ``configure(parser, ...)`` and ``run(args, env)``."""
