// Entry point of the `vault` binary.
#include "api/cli.h"

int main(int argc, char** argv) { return vault::cli::Main(argc, argv); }
