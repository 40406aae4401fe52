/* cmd_decode.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_decode(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("decode: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
