/* cmd_project.c -- placeholder until the subcommand is written. */
#include "tdcli.h"

int cli_project(int argc, char **argv) {
    (void)argc;
    (void)argv;
    cli_error("project: not implemented yet");
    return CLI_EXIT_INTERNAL;
}
