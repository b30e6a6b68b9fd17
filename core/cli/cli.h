// The command line: `rapport [GLOBAL FLAGS] COMMAND [ARGS]`.
//
// rp_cli_main parses the global flags (-C DIR, --plugins, --templates, -q,
// --color), then hands the rest to one command. Each command returns the
// process exit status: 0 success, 1 a problem in the user's files (reported
// as PATH:LINE:COL: error: MESSAGE), 2 a usage error.
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "workspace/workspace.h"

enum { RP_EXIT_OK = 0, RP_EXIT_PROBLEM = 1, RP_EXIT_USAGE = 2 };

typedef struct rp_cli {
  const char *workspace;  // -C DIR, or NULL
  rp_workspace ws;        // the --plugins and --templates folders
  bool quiet;
  int color;           // 0 never, 1 always, -1 auto
  const char *record;  // --record PATH, or NULL ($RAPPORT_RECORD, else record.db)
} rp_cli;

int rp_cli_main(int argc, char **argv);

// The record of the workspace: --record, else $RAPPORT_RECORD, else
// record.db.
const char *rp_cli_record_path(const rp_cli *cli);

// Commands: argv[0] is the command's name.
int rp_cmd_mustache(rp_cli *cli, int argc, char **argv);
int rp_cmd_list(rp_cli *cli, int argc, char **argv);
int rp_cmd_check(rp_cli *cli, int argc, char **argv);
int rp_cmd_test(rp_cli *cli, int argc, char **argv);
int rp_cmd_new(rp_cli *cli, int argc, char **argv);
int rp_cmd_render(rp_cli *cli, int argc, char **argv);
int rp_cmd_watch(rp_cli *cli, int argc, char **argv);
// The signed record (record_cmd.c).
int rp_cmd_key(rp_cli *cli, int argc, char **argv);
int rp_cmd_sign(rp_cli *cli, int argc, char **argv);
int rp_cmd_amend(rp_cli *cli, int argc, char **argv);
int rp_cmd_verify(rp_cli *cli, int argc, char **argv);
int rp_cmd_log(rp_cli *cli, int argc, char **argv);

// Prints the help of one command (or the overview for NULL) to stdout.
// Returns false when there is no such command.
bool rp_cli_help(const char *command);

// Reports a usage error the way every command does, with a pointer to help.
int rp_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
