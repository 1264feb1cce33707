/* libFuzzer target: the WinRM SOAP response parser and the CLIXML error decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "winrm/winrm_int.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return winrm_global_init();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out, err, cli;
	struct winrm_reply rep;
	char errbuf[256], line[1100];
	/* The first byte picks whether streams are filtered by CommandId, and a small cap. */
	const char *cmd = size && (data[0] & 1) ? "3B2BE0DA-7A5A-4E5C-8F4F-1D52E1A3B7C1" : NULL;
	size_t cap = size && (data[0] & 2) ? 16 : 1u << 20;

	buf_init(&out, cap);
	buf_init(&err, cap);
	if (winrm_soap_parse(data, size, cmd, &out, &err, &rep, errbuf, sizeof(errbuf)) == 0) {
		if (rep.is_fault)
			winrm_soap_fault_format(&rep.fault, line, sizeof(line));
		if (strlen(rep.shell_id) >= WINRM_ID_MAX || strlen(rep.command_id) >= WINRM_ID_MAX)
			abort();
	} else if (strlen(errbuf) == 0) {
		abort(); /* every failure explains itself */
	}
	if (out.len > cap || err.len > cap)
		abort();
	buf_free(&out);
	buf_free(&err);

	/* The same bytes as a PowerShell stderr. */
	buf_init(&cli, 1u << 20);
	if (buf_try_append_str(&cli, "#< CLIXML\r\n") == 0 && buf_try_append(&cli, data, size) == 0)
		winrm_ps_clixml_to_text(&cli);
	buf_free(&cli);
	return 0;
}
