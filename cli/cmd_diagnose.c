/* cmd_diagnose.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_diagnose(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("diagnose: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
