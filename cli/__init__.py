"""The command line room: `gongkai` (cli.main). See the README's "Command line"."""
