// Entry point of the rapport binary; the commands live in core/cli/.
#include "cli/cli.h"

int main(int argc, char **argv) {
  return rp_cli_main(argc, argv);
}
