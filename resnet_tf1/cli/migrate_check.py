"""`python -m resnet_tf1 migrate-check PATH...`: the same as the
`migrate-check` command of the tf1_migrate package (docs/MIGRATION.md),
kept under this entry point for those who know it here."""

TAKES_ARGUMENTS = True
# tf1_migrate parses its own arguments.
OWN_PARSER = True


def define_flags():
    pass


def main(args):
    import sys
    from tf1_migrate import __main__ as migrate_main
    sys.argv = ['migrate-check'] + list(args)
    return migrate_main.main()
