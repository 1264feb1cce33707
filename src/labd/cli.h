/* neops-remote-lab's command line (--help text, argparse-compatible errors). */
#ifndef RL_LABD_CLI_H
#define RL_LABD_CLI_H

#include <stdio.h>

#include "labd.h"

#define CLI_TAGS_MAX 32
#define CLI_TAG_MAX 256 /* bytes of KEY=VALUE */

struct cli {
	struct labd_config cfg;
	const char *log_format;
	const char *prewarm[SLOTS_MAX];
	const char *tags[CLI_TAGS_MAX];
	/* connection limits and access (issue 9) */
	unsigned max_per_address; /* 0: a quarter of max_connections */
	unsigned request_timeout;
	const char *token_file;
	const char *tls_cert;
	const char *tls_key;
};

/* Parse argv into cli (defaults first); prints --help/--version and exits, or exits 2 with
 * a usage message on bad arguments. */
void cli_parse(int argc, char **argv, struct cli *cli);
void cli_usage(FILE *f);

#endif
