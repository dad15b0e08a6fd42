/*
 * expand_cmd.h - `refmta expand` (expand_cmd.c), like `exim -be`.
 */
#ifndef REFMTA_EXPAND_CMD_H
#define REFMTA_EXPAND_CMD_H

struct config;

/* argv[0] the string, then NAME=VALUE variables; `cfg` (not owned; NULL:
 * none) gives ${acl} its ACLs.  Exit status: 0 expanded (result on
 * stdout), 1 forced failure or error (stderr), 2 usage. */
int expand_cmd(const struct config *cfg, int argc, char **argv);

#endif
