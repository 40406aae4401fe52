/* cmd_apikey.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_apikey(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("apikey: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
