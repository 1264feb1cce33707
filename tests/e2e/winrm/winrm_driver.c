/* Test-only driver: runs the WinRM client once (or in N threads) and prints JSON results. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "winrm/winrm.h"

enum mode {
	MODE_NONE,
	MODE_CMD,
	MODE_PS,
	MODE_READ
};

struct job {
	const struct winrm_target *target;
	enum mode mode;
	const char *what; /* command, script or path */
	const char *const *args;
	size_t nargs;
	json_t *result;
};

/* Base64 of a byte range as a JSON string. */
static json_t *b64(const uint8_t *p, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	json_t *j;

	if (!out)
		abort();
	EVP_EncodeBlock((unsigned char *)out, p ? p : (const uint8_t *)"", (int)n);
	j = json_string(out);
	free(out);
	return j;
}

/* Run one job and build its JSON result. */
static void *run(void *arg)
{
	struct job *job = arg;
	struct winrm_result res;
	char err[1024];
	char *content = NULL;
	size_t len = 0;
	int r;

	memset(&res, 0, sizeof(res));
	switch (job->mode) {
	case MODE_CMD:
		r = winrm_run_command(job->target, job->what, job->args, job->nargs, &res, err,
				      sizeof(err));
		break;
	case MODE_PS:
		r = winrm_run_powershell(job->target, job->what, &res, err, sizeof(err));
		break;
	default:
		r = winrm_read_file(job->target, job->what, &content, &len, err, sizeof(err));
		break;
	}
	job->result = json_object();
	json_object_set_new(job->result, "rc", json_integer(r));
	if (r < 0) {
		const char *name = strerrorname_np(-r);

		json_object_set_new(job->result, "errno", json_string(name ? name : "?"));
		json_object_set_new(job->result, "error", json_string(err));
		return NULL;
	}
	if (job->mode == MODE_READ) {
		json_object_set_new(job->result, "content_b64", b64((const uint8_t *)content, len));
		free(content);
		return NULL;
	}
	json_object_set_new(job->result, "exit_code", json_integer(res.exit_code));
	json_object_set_new(job->result, "stdout_b64", b64(res.out, res.out_len));
	json_object_set_new(job->result, "stderr_b64", b64(res.err, res.err_len));
	json_object_set_new(job->result, "duration_ms", json_integer((json_int_t)res.duration_ms));
	json_object_set_new(job->result, "cleanup_status", json_integer(res.cleanup_status));
	/* Cheap checks of the documented result invariants. */
	if ((res.out && res.out[res.out_len] != 0) || (res.err && res.err[res.err_len] != 0))
		json_object_set_new(job->result, "bad_terminator", json_true());
	winrm_result_free(&res);
	winrm_result_free(NULL);
	return NULL;
}

/* Parse an unsigned decimal option value or exit with usage. */
static unsigned long num(const char *s, const char *opt)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-') {
		fprintf(stderr, "winrm_driver: bad number for %s: %s\n", opt, s);
		exit(2);
	}
	return v;
}

/* Print usage and exit. */
static void usage(void)
{
	fprintf(stderr,
		"usage: winrm_driver [--url U | --host H [--port P] [--scheme S]] [--transport T]\n"
		"       [--user U] [--ca-file F] [--insecure] [--read-timeout MS] [--op-timeout MS]\n"
		"       [--total-timeout MS] [--codepage N] [--max-output N] [--threads N]\n"
		"       (--cmd COMMAND [ARG...] | --ps SCRIPT | --read-file PATH)\n"
		"The password comes from $WINRM_PASSWORD.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'P' },
		{ "scheme", required_argument, NULL, 'S' },
		{ "transport", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'U' },
		{ "ca-file", required_argument, NULL, 'c' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "read-timeout", required_argument, NULL, 'r' },
		{ "op-timeout", required_argument, NULL, 'o' },
		{ "total-timeout", required_argument, NULL, 'T' },
		{ "codepage", required_argument, NULL, 'C' },
		{ "max-output", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 'n' },
		{ "cmd", required_argument, NULL, 'x' },
		{ "ps", required_argument, NULL, 'p' },
		{ "read-file", required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct winrm_target t;
	struct job *jobs;
	pthread_t *tids;
	enum mode mode = MODE_NONE;
	const char *what = NULL;
	unsigned long threads = 1, i;
	int c, rc = 0;

	memset(&t, 0, sizeof(t));
	t.password = getenv("WINRM_PASSWORD");
	/* "+": stop at the first non-option so command arguments may start with '-'. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			t.url = optarg;
			break;
		case 'H':
			t.host = optarg;
			break;
		case 'P':
			t.port = (unsigned)num(optarg, "--port");
			break;
		case 'S':
			t.scheme = optarg;
			break;
		case 't':
			t.transport = optarg;
			break;
		case 'U':
			t.user = optarg;
			break;
		case 'c':
			t.ca_file = optarg;
			break;
		case 'k':
			t.skip_verify = true;
			break;
		case 'r':
			t.read_timeout_ms = (unsigned)num(optarg, "--read-timeout");
			break;
		case 'o':
			t.operation_timeout_ms = (unsigned)num(optarg, "--op-timeout");
			break;
		case 'T':
			t.total_timeout_ms = (unsigned)num(optarg, "--total-timeout");
			break;
		case 'C':
			t.codepage = (unsigned)num(optarg, "--codepage");
			break;
		case 'm':
			t.max_output = num(optarg, "--max-output");
			break;
		case 'n':
			threads = num(optarg, "--threads");
			break;
		case 'x':
			mode = MODE_CMD;
			what = optarg;
			break;
		case 'p':
			mode = MODE_PS;
			what = optarg;
			break;
		case 'f':
			mode = MODE_READ;
			what = optarg;
			break;
		default:
			usage();
		}
		if (mode == MODE_CMD)
			break; /* everything after --cmd COMMAND is an argument */
	}
	if (mode == MODE_NONE || threads == 0 || threads > 64)
		usage();
	if (winrm_global_init() < 0) {
		fprintf(stderr, "winrm_driver: winrm_global_init failed\n");
		return 1;
	}

	jobs = calloc(threads, sizeof(*jobs));
	tids = calloc(threads, sizeof(*tids));
	if (!jobs || !tids)
		abort();
	for (i = 0; i < threads; i++) {
		jobs[i].target = &t;
		jobs[i].mode = mode;
		jobs[i].what = what;
		jobs[i].args = (const char *const *)(argv + optind);
		jobs[i].nargs = mode == MODE_CMD ? (size_t)(argc - optind) : 0;
		if (threads == 1)
			run(&jobs[i]);
		else if (pthread_create(&tids[i], NULL, run, &jobs[i]) != 0)
			abort();
	}
	for (i = 0; i < threads; i++) {
		char *line;

		if (threads > 1)
			pthread_join(tids[i], NULL);
		line = json_dumps(jobs[i].result, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", line);
		fflush(stdout); /* a sanitizer report at exit must not swallow the result */
		free(line);
		if (json_integer_value(json_object_get(jobs[i].result, "rc")) != 0)
			rc = 1;
		json_decref(jobs[i].result);
	}
	free(jobs);
	free(tids);
	return rc;
}
