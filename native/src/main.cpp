#include "cli/cli.h"

int main(int argc, char** argv) { return loraflow::cli_main(argc, argv); }
