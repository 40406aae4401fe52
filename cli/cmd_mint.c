/* cmd_mint.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_mint(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("mint: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
