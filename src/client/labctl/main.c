/* labctl: command-line client for neops-remote-lab; dispatch, error messages and exit codes.
 * The command line is parsed in cmdline.c, the library client is set up in client_setup.c. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labctl.h"

const char *labctl_prog = "labctl";

/* Print "labctl: message" to stderr. */
void labctl_err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", labctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Report a usage error; returns LABCTL_EXIT_USAGE. */
int labctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", labctl_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", labctl_prog);
	return LABCTL_EXIT_USAGE;
}

/* Map a library code to labctl's exit code. */
int labctl_exit_for(int r)
{
	switch (-r) {
	case 0:
		return LABCTL_EXIT_OK;
	case ECONNREFUSED:
	case ECONNRESET:
	case EKEYREJECTED:
	case ENODEV:
	case EHOSTUNREACH:
	case EIO:
	case EMSGSIZE:
	case EBADMSG:
	case EPROTO:
		return LABCTL_EXIT_UNREACHABLE;
	case ETIMEDOUT:
		return LABCTL_EXIT_TIMEOUT;
	case ENOMEM:
	case EISDIR:
	case EFBIG:
	case EACCES:
	case E2BIG:
		return LABCTL_EXIT_LOCAL;
	case ENOLCK:
		return LABCTL_EXIT_BUSY;
	case ECANCELED:
		return child_signal ? 128 + child_signal : LABCTL_EXIT_SERVER;
	default:
		return LABCTL_EXIT_SERVER;
	}
}

/* Print the client's error and return the exit code for r. */
int labctl_fail(struct rl_client *c, int r, const char *what)
{
	const char *msg = c != NULL ? rl_client_errmsg(c) : "";

	if (msg[0] != '\0')
		labctl_err("%s: %s", what, msg);
	else
		labctl_err("%s: %s", what, rl_strerror(r));
	if (r == -ENOENT && c != NULL && rl_client_error(c)->http_status == 404 &&
	    strncmp(rl_client_error(c)->detail, "Session not found", 17) == 0)
		return LABCTL_EXIT_NOSESSION;
	if (r == -EACCES && c != NULL && rl_client_error(c)->http_status > 0)
		return LABCTL_EXIT_SERVER; /* 401/403: the server refused us (not a local file) */
	return labctl_exit_for(r);
}

int main(int argc, char **argv)
{
	struct opts o;
	const struct command *cmd;
	const char *noun, *verb;
	bool done = false;
	int r, rest;

	memset(&o, 0, sizeof(o));
	o.session = getenv("REMOTE_LAB_SESSION");
	r = cmdline_parse(argc, argv, NULL, &o, &done);
	if (r != 0 || done)
		goto out;
	if (optind >= argc) {
		r = labctl_usage_error("no command given");
		goto out;
	}
	noun = argv[optind];
	if (strcmp(noun, "help") == 0) {
		cmdline_help();
		goto out;
	}
	verb = optind + 1 < argc ? argv[optind + 1] : NULL;
	cmd = cmdline_command(noun, verb);
	if (cmd == NULL) {
		r = labctl_usage_error("unknown command '%s%s%s'", noun, verb ? " " : "",
				       verb ? verb : "");
		goto out;
	}
	/* re-parse from the word after the command, with the command's options */
	rest = optind + (cmd->verb != NULL ? 1 : 0);
	argv[rest] = argv[0];
	r = cmdline_parse(argc - rest, argv + rest, cmd, &o, &done);
	if (r != 0 || done)
		goto out;
	o.argc = argc - rest - optind;
	o.argv = argv + rest + optind;
	if (cmd->max_args >= 0 && o.argc > cmd->max_args) {
		r = labctl_usage_error("unexpected argument '%s'", o.argv[cmd->max_args]);
		goto out;
	}
	r = cmd->fn(&o);
out:
	free(o.extras);
	free(o.urls);
	free(o.requires);
	return r;
}
