/*
 * libFuzzer target: dd-trace-go's event.json as the push intake reads it
 * (common/json_scan underneath): any bytes give an event or an error, and
 * what an event holds stays within its caps (past the 64th tag, only the
 * first service, host and runtime-id).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fetcher/push_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct push_event ev;
	char err[256];
	size_t i;

	memset(&ev, 0, sizeof(ev));
	if (push_event_json(data, size, &ev, err, sizeof(err)) < 0) {
		if (err[0] == '\0')
			abort(); /* a refusal always says why */
		return 0;
	}
	if (ev.ntags > PUSH_EVENT_TAGS || ev.nnames > MULTIPART_MAX_PARTS)
		abort();
	for (i = 0; i < ev.ntags; i++) {
		if (strlen(ev.tags[i].key) == 0)
			abort();
		/* Past the 64th, only the tags a profile is named by, each
		 * once, and only if not among the first 64. */
		if (i >= PUSH_MAX_TAGS &&
		    ((strcmp(ev.tags[i].key, "service") != 0 &&
		         strcmp(ev.tags[i].key, "host") != 0 &&
		         strcmp(ev.tags[i].key, "runtime-id") != 0) ||
		        push_tag(&ev, ev.tags[i].key) != ev.tags[i].value))
			abort();
	}
	return 0;
}
