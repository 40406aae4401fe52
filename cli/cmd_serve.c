/* cmd_serve.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_serve(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("serve: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
