/* main.c -- the tokendoctor executable: everything lives in the cli library. */
#include "tdcli.h"

int main(int argc, char **argv) {
    return cli_main(argc, argv);
}
